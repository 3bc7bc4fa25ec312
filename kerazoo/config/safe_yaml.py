"""YAML for recipes and `--set` values, with the size of what it builds bounded.

`yaml.safe_load` never runs code, but it still builds whatever a document describes: a
"billion laughs" document of nested aliases expands to billions of values once anything walks
it (validation, logging, a deep copy), and values nested thousands deep exhaust Python's
recursion limit. Aliases are kept, because sharing one section between two keys is ordinary
YAML; the document is composed into its node tree first and refused before anything is
constructed when it is nested deeper than MAX_DEPTH or would expand to more than MAX_VALUES
values, counting each alias as a copy of what it names.
"""

from __future__ import annotations

from typing import Any

import yaml

from kerazoo.errors import KerazooError

# A recipe is about 5 levels deep and a few hundred values; these leave room for any real one.
MAX_DEPTH = 50
MAX_VALUES = 100_000


class BoundedLoader(yaml.SafeLoader):
    """SafeLoader whose composer stops at MAX_DEPTH levels instead of recursing on."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise KerazooError(f"values are nested more than {MAX_DEPTH} levels deep "
                                   f"(line {self.peek_event().start_mark.line + 1})")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _expanded_size(root: yaml.Node) -> int:
    """The number of values the tree makes once every alias is copied out; a node reached
    through an alias is the same object, so each distinct node is sized once."""
    sizes: dict[int, int] = {}
    # Iterative post-order walk: the depth is bounded already, but a cycle is not.
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    in_progress: set[int] = set()
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        if isinstance(node, yaml.ScalarNode):
            sizes[id(node)] = 1
            continue
        children = ([child for pair in node.value for child in pair]
                    if isinstance(node, yaml.MappingNode) else list(node.value))
        if children_done:
            in_progress.discard(id(node))
            sizes[id(node)] = 1 + sum(sizes[id(child)] for child in children)
            if sizes[id(node)] > MAX_VALUES:
                raise KerazooError(f"aliases expand to more than {MAX_VALUES:,} values "
                                   f"(line {node.start_mark.line + 1})")
            continue
        if id(node) in in_progress:
            raise KerazooError(f"an alias refers to the value that contains it "
                               f"(line {node.start_mark.line + 1})")
        in_progress.add(id(node))
        stack.append((node, True))
        for child in children:
            if id(child) in in_progress:
                raise KerazooError(f"an alias refers to the value that contains it "
                                   f"(line {child.start_mark.line + 1})")
            stack.append((child, False))
    return sizes[id(root)]


def load(text: str, loader_class: type[BoundedLoader] = BoundedLoader) -> Any:
    """Parse one YAML document like `yaml.safe_load`. A syntax error raises `yaml.YAMLError`;
    a document too deep or too large once its aliases are expanded raises `KerazooError`.
    `loader_class` may add resolvers (the sweep's search space reads `1e-4` as a number)."""
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _expanded_size(node)
        try:
            return loader.construct_document(node)
        except ValueError as error:  # e.g. an integer of more digits than Python converts
            raise KerazooError(f"a value cannot be read: {str(error).split(';')[0]}") from None
    finally:
        loader.dispose()
