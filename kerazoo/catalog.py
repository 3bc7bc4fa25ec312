"""The model catalog `kerazoo list` prints: each built-in builder's task, input, family,
parameter count at its defaults and one-line summary, read from `catalog.json`.

Why a stored table: counting parameters means building every model (alexnet alone is 62 M
weights), and even registering the builders imports Keras and TensorFlow, seconds before
anything prints. The table is checked against the real builders by tests/test_models.py
(every registered model built at its defaults), so it cannot drift unnoticed; rewrite it
with `python -m kerazoo.catalog` after changing a builder. Plugin models (entry points) are
not in it: `kerazoo list` builds those.
"""

from __future__ import annotations

import inspect
import json
from importlib import resources
from pathlib import Path

COLUMNS = ("task", "input", "family", "parameters", "summary")


def stored() -> dict[str, dict]:
    return json.loads(resources.files("kerazoo").joinpath("catalog.json").read_text())


def summary(function) -> str:
    """The builder docstring's first sentence."""
    text = " ".join((inspect.getdoc(function) or "").split())
    return text.split(". ")[0].rstrip(".")


def row(name: str, model=None) -> dict:
    """The catalog row of registered model `name`, built at its defaults unless given."""
    import kerazoo
    from kerazoo.registry import model_registry

    info = kerazoo.model_info(name)
    model = model if model is not None else kerazoo.build(name)
    return {"task": info.task, "input": info.input_kind, "family": info.family,
            "parameters": model.count_params(),
            "summary": summary(model_registry.get(name).function)}


def write() -> Path:
    from kerazoo.registry import list_models, model_registry

    path = Path(__file__).with_name("catalog.json")
    table = {name: row(name) for name in list_models()  # built-ins only, not plugins
             if model_registry.get(name).function.__module__.startswith("kerazoo.")}
    path.write_text(json.dumps(table, indent=1) + "\n")
    return path


if __name__ == "__main__":
    print(write())
