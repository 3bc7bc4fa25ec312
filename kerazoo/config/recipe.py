"""Recipes: YAML data validated into typed objects before anything trains.

A recipe file is parsed by kerazoo/config/safe_yaml.py (it never executes code, and its size is
bounded), merged with the `smoke:` overrides under `--smoke` and with `--set key=value`
overrides, then validated by pydantic and checked against the registries. Every error names
the key path.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import os
import re
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveFloat,
    PrivateAttr,
    ValidationError,
    field_validator,
)

from kerazoo.config import safe_yaml
from kerazoo.errors import KerazooError, did_you_mean

# kerazoo's own recipes are package data (pyproject's package-data ships them in the wheel),
# found through importlib.resources so an installed kerazoo finds them wherever it lives.
RECIPES_DIR = Path(str(resources.files("kerazoo").joinpath("recipes")))
STRATEGIES = ("none", "mirrored", "data_parallel")  # train.distribute, see distributed.py
TRAINING_STRATEGIES = ("fit", "hogwild")  # train.strategy, see kerazoo/training/hogwild/
# train.precision: Keras dtype policies a recipe may train under (kerazoo/training/precision.py).
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
# Sections that describe a recipe without changing what it trains: left out of the hash
# that `--resume` compares, so editing a description does not strand a run.
DESCRIPTIVE_SECTIONS = ("description", "quality", "sweep")
# Names people reach for that are not training callbacks, and what to use instead.
NOT_TRAINING_CALLBACKS = {
    "lr_finder": "the LR range test is not a training callback: set train.learning_rate: auto, "
                 "or run `kerazoo lr-find RECIPE`",
}


# A recipe's name becomes part of file names (lr_find_<name>.png) and MLflow's run name, so it
# is a name, not a path: letters, digits and . _ - (not first), no separators, never '..'.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
# Integers reach NumPy and the backend as int64 at most; anything wider only fails there.
INT64 = (-(2**63), 2**63 - 1)
# The largest epoch count and batch size the backend's int32 step counters and shapes hold.
INT32_MAX = 2**31 - 1
# Dotted keys (with '*' for any list index) whose numbers may be infinite or NaN: none yet.
# Every other float a user gives must be finite, wherever it sits (a builder's keyword, an
# optimizer's, a schedule's, a data loader's), because NaN trains silently into garbage.
NON_FINITE_ALLOWED: tuple[str, ...] = ()
# A recipe is a few kilobytes; a larger file is a mistake (a dataset given as the recipe).
MAX_RECIPE_BYTES = 1 << 20


class NamedSection(BaseModel):
    """A registry name plus the keyword arguments for what it names."""

    model_config = ConfigDict(extra="allow")
    name: str

    @property
    def kwargs(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class Train(BaseModel):
    model_config = ConfigDict(extra="forbid")
    epochs: int = Field(10, ge=1, le=INT32_MAX, description="passes over the training split")
    batch_size: int = Field(32, ge=1, le=INT32_MAX)
    optimizer: str = Field("adam", description="a Keras optimizer name: adam, sgd, adamw, ...")
    optimizer_kwargs: dict[str, Any] = Field(default_factory=dict,
                                             description="extra optimizer arguments")
    learning_rate: PositiveFloat | Literal["auto"] = Field(
        1e-3, description="'auto' runs the LR range test first and uses its suggestion")
    loss: str | None = Field(None, description="default: the model's task default")
    metrics: list[str] | None = Field(None, description="default: the model's task default")
    shuffle: bool = True
    jit_compile: bool | Literal["auto"] = "auto"
    steps_per_execution: Annotated[int, Field(ge=1, le=INT32_MAX)] | Literal["epoch"] = Field(
        1, description="batches per compiled call (Keras' compile argument): fewer Python "
                       "round trips per epoch; epoch: one call an epoch. The count in force "
                       "divides the epoch's steps, and is 1 under a per-batch callback")
    precision: Literal[PRECISIONS] = Field(
        "float32", description="the Keras dtype policy the model is built under; outputs "
                               "stay float32, and mixed_float16 scales the loss")
    intra_op_threads: Annotated[int, Field(ge=1, le=1024)] | Literal["auto"] = Field(
        "auto", description="threads TensorFlow splits one op across (process-"
                                           "wide, before TensorFlow starts); auto: every core. "
                                           "1 is faster for small recurrent steps "
                                           "(kerazoo/training/threads.py)")
    deterministic: bool = Field(True, description="enforce deterministic TensorFlow ops")
    distribute: Literal[STRATEGIES] = Field(
        "none", description="mirrored: TensorFlow, one host's devices; data_parallel: JAX, "
                            "one or more processes (see kerazoo/training/distributed.py)")
    strategy: Literal[TRAINING_STRATEGIES] = Field(
        "fit", description="fit: Keras' fit; hogwild: lock-free SGD by `workers` processes "
                           "on shared weights (see kerazoo/training/hogwild/)")
    workers: int = Field(1, ge=1, description="hogwild: worker processes")
    lock: bool = Field(False, description="hogwild: one lock around every update (the "
                                          "paper's locked baseline)")


class Quality(BaseModel):
    """The floor a recipe promises at its default size, checked by `make test-slow`."""

    model_config = ConfigDict(extra="forbid")
    metric: str
    floor: float
    mode: Literal["max", "min"] = "max"


class Outputs(BaseModel):
    """Files a run writes besides its MLflow artifacts, always inside the run's directory."""

    model_config = ConfigDict(extra="forbid")
    model_file: str | None = Field(
        None, description="also save the trained model here, e.g. model.keras")

    @field_validator("model_file")
    @classmethod
    def _inside_run_directory(cls, value: str | None) -> str | None:
        if value is not None:
            path = PurePosixPath(value)
            if path.is_absolute() or ".." in path.parts or path.suffix != ".keras":
                raise ValueError("must be a relative path ending in .keras inside the run's "
                                 "directory (no '..', not absolute)")
        return value


class Sweep(BaseModel):
    """An Optuna search over recipe keys (`kerazoo sweep`); the values are distribution specs
    such as `uniform(0, 0.5)`, parsed by kerazoo/scale/search_space.py, never evaluated."""

    model_config = ConfigDict(extra="forbid")
    params: dict[str, str] = Field(default_factory=dict,
                                   description="dotted recipe key -> distribution spec")
    metric: str = Field("val_loss", description="per-epoch metric reported to Optuna")
    direction: Literal["minimize", "maximize"] | None = Field(
        None, description="default: minimize losses and errors, maximize the rest")
    trials: int = Field(20, ge=1, description="trials in all, shared between the workers")
    workers: int = Field(1, ge=1, description="worker processes on this machine")


class Recipe(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(description="letters, digits and . _ - (not first); at most 100 "
                                  "characters")
    description: str = ""
    experiment: str = Field(min_length=1, max_length=200,
                            description="MLflow experiment; recipes on the same data share one")
    seed: int = Field(0, ge=0, le=2**32 - 1, description="NumPy and Keras take 0..2**32-1")
    model: NamedSection
    data: NamedSection
    train: Train = Field(default_factory=Train)
    callbacks: list[NamedSection] = Field(default_factory=list)
    quality: Quality | None = None
    outputs: Outputs = Field(default_factory=Outputs)
    sweep: Sweep | None = None
    smoke: dict[str, Any] = Field(
        default_factory=dict, description="dotted overrides applied under --smoke")
    _source_path: Path | None = PrivateAttr(None)

    @field_validator("name")
    @classmethod
    def _a_name_not_a_path(cls, value: str) -> str:
        if not NAME_PATTERN.fullmatch(value):
            raise ValueError("must be a name of at most 100 letters, digits and . _ - (not "
                             "first), since it names files; set `name:` in the recipe or "
                             "--set name=NAME")
        return value

    @property
    def source_path(self) -> Path | None:
        """The file the recipe was read from, if any."""
        return self._source_path

    def resolved(self) -> dict[str, Any]:
        """The whole recipe as plain data, extras included (what gets logged)."""
        return self.model_dump(mode="json")

    def content_hash(self) -> str:
        """A hash of everything that determines training (not the descriptive sections)."""
        training = {key: value for key, value in self.resolved().items()
                    if key not in DESCRIPTIVE_SECTIONS}
        text = json.dumps(training, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


# --- finding and reading recipe files ----------------------------------------------------------

def recipe_dirs() -> list[Path]:
    """Where recipe names are looked up: $KERAZOO_RECIPES, ./recipes, then kerazoo's own."""
    dirs = [Path(path) for path in os.environ.get("KERAZOO_RECIPES", "").split(os.pathsep)
            if path]
    dirs += [Path.cwd() / "recipes", RECIPES_DIR]
    unique: list[Path] = []
    for directory in dirs:
        if directory.resolve() not in [d.resolve() for d in unique]:
            unique.append(directory)
    return unique


def available_recipes() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for directory in reversed(recipe_dirs()):  # earlier directories win
        for path in sorted(directory.glob("*.yaml")):
            found[path.stem] = path
    return dict(sorted(found.items()))


def find_recipe(name_or_path: str) -> Path:
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or os.sep in name_or_path:
        if path.is_dir():
            raise KerazooError(f"recipe file {name_or_path!r} is a folder; give a .yaml file "
                               "in it, or a recipe name from `kerazoo recipes`")
        if path.exists() and not path.is_file():
            raise KerazooError(f"recipe file {name_or_path!r} is not a regular file; give a "
                               ".yaml file")
        if not path.is_file():
            raise KerazooError(f"recipe file {name_or_path!r} does not exist")
        return path
    recipes = available_recipes()
    if name_or_path not in recipes:
        raise KerazooError(
            f"unknown recipe {name_or_path!r}{did_you_mean(name_or_path, recipes)}; "
            f"accepted: {', '.join(recipes)} or a path to a .yaml file"
        )
    return recipes[name_or_path]


def read_yaml(path: Path) -> dict[str, Any]:
    try:
        if path.stat().st_size > MAX_RECIPE_BYTES:
            raise KerazooError(f"recipe file {str(path)!r} is {path.stat().st_size:,} bytes; "
                               f"a recipe is at most {MAX_RECIPE_BYTES:,}")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise KerazooError(f"cannot read recipe file {str(path)!r}: {error}") from None
    try:
        data = safe_yaml.load(text)
    except KerazooError as error:
        raise KerazooError(f"recipe file {str(path)!r}: {error}") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or "invalid YAML"
        raise KerazooError(f"recipe file {str(path)!r} is not valid YAML{where}: "
                           f"{problem}") from None
    if not isinstance(data, dict):
        raise KerazooError(f"recipe file {str(path)!r} must hold a mapping of keys "
                           f"(name, model, data, train, ...); it holds "
                           f"{type(data).__name__}: {str(data)[:60]!r}")
    return data


# --- overrides ---------------------------------------------------------------------------------

def parse_assignment(assignment: str) -> tuple[str, Any]:
    """'train.epochs=3' -> ('train.epochs', 3); the value is read as YAML (3, 0.1, [64, 32])."""
    key, separator, text = assignment.partition("=")
    key = key.strip()
    if not separator or not key:
        raise KerazooError(f"--set takes KEY=VALUE, e.g. --set train.epochs=3. "
                           f"Received: {assignment!r}")
    if key.count(".") >= safe_yaml.MAX_DEPTH:
        raise KerazooError(f"--set: a key of at most {safe_yaml.MAX_DEPTH} dotted parts. "
                           f"Received: {clip(key)}")
    try:
        value = safe_yaml.load(text) if text.strip() else ""
    except KerazooError as error:
        raise KerazooError(f"--set {key}: {error}") from None
    except yaml.YAMLError:
        value = text
    return key, value


def set_path(data: dict[str, Any], key: str, value: Any) -> None:
    """Set a dotted key in nested dicts and lists (`callbacks.0.max_lr`)."""
    parts = key.split(".")
    node: Any = data
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        where = ".".join(parts[: depth + 1])
        if isinstance(node, list):
            # an index one past the end appends, so `--set callbacks.0.name=x` adds a callback
            if not part.isdigit() or int(part) > len(node):
                raise KerazooError(f"--set {key}: {where!r} is not an index of a list of "
                                   f"{len(node)} items (or the next one, {len(node)}). "
                                   f"Received: {key}={value!r}")
            if int(part) == len(node):
                node.append(value if last else {})
            if last:
                node[int(part)] = value
            else:
                node = node[int(part)]
        elif isinstance(node, dict):
            if last:
                node[part] = value
            else:
                # a missing section is created; a missing list (next part an index) is empty
                node = node.setdefault(part, [] if parts[depth + 1].isdigit() else {})
        else:
            raise KerazooError(f"--set {key}: {'.'.join(parts[:depth])!r} is a value, not a "
                               f"section. Received: {key}={value!r}")


def apply_overrides(data: dict[str, Any], assignments: list[tuple[str, Any]]) -> dict[str, Any]:
    data = copy.deepcopy(data)
    for key, value in assignments:
        set_path(data, key, value)
    return data


# --- validation --------------------------------------------------------------------------------

def _accepted_keys(location: tuple[Any, ...]) -> list[str]:
    """The keys pydantic accepts at a location, for 'unknown key' messages."""
    model: type[BaseModel] | None = Recipe
    for part in location[:-1]:
        if model is None:
            return []
        if isinstance(part, int):
            continue
        annotation = model.model_fields[part].annotation if part in model.model_fields else None
        model = next((arg for arg in getattr(annotation, "__args__", (annotation,))
                      if isinstance(arg, type) and issubclass(arg, BaseModel)), None)
        if model is None and isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
    return sorted(model.model_fields) if model else []


def _key_path(location: tuple[Any, ...]) -> tuple[Any, ...]:
    """The location without pydantic's union-member tags ('float', "literal['auto']"): the
    parts that are list indices or keys the recipe schema has at their level."""
    keys: list[Any] = []
    for part in location:
        if isinstance(part, int) or part in _accepted_keys((*keys, part)):
            keys.append(part)
    return tuple(keys)


def format_validation_error(error: ValidationError, recipe_name: str) -> str:
    reasons: dict[str, list[str]] = {}  # per key; a union's alternatives are joined by "or"
    received: dict[str, str] = {}
    for item in error.errors():
        location = tuple(item["loc"])
        if item["type"] != "extra_forbidden":  # an unknown key is, by definition, not known
            location = _key_path(location)
        path = ".".join(str(part) for part in location)
        if item["type"] == "extra_forbidden":
            accepted = _accepted_keys(location)
            reason = (f"unknown key{did_you_mean(str(location[-1]), accepted)}; "
                      f"accepted: {', '.join(accepted)}")
        elif item["type"] == "missing":
            reason = "required key is missing"
        else:
            reason = item["msg"].rstrip(".")
            received[path] = f". Received: {path}={clip(repr(item.get('input')))}"
        if reason not in reasons.setdefault(path, []):
            reasons[path].append(reason)
    messages = [f"{path}: {' or '.join(parts)}{received.get(path, '')}"
                for path, parts in reasons.items()]
    return f"recipe {recipe_name!r}: " + "; ".join(messages)


def clip(text: str, limit: int = 120) -> str:
    """A received value shown in an error, cut to fit one readable line."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def check_numbers(data: Any, recipe_name: str, path: str = "") -> None:
    """Every number anywhere in the recipe data is finite (unless its key is in
    NON_FINITE_ALLOWED) and every integer fits in int64, before any of it reaches a builder,
    an optimizer or a data loader that would take NaN silently or fail deep inside."""
    if isinstance(data, dict):
        for key, value in data.items():
            check_numbers(value, recipe_name, f"{path}{key}.")
    elif isinstance(data, list):
        for index, value in enumerate(data):
            check_numbers(value, recipe_name, f"{path}{index}.")
    elif isinstance(data, float) and not math.isfinite(data):
        key = path.rstrip(".")
        pattern = re.sub(r"\.\d+(?=\.|$)", ".*", key)
        if pattern not in NON_FINITE_ALLOWED:
            raise KerazooError(f"recipe {recipe_name!r}: {key}: must be a finite number. "
                               f"Received: {key}={data!r}")
    elif isinstance(data, int) and not isinstance(data, bool) and not (
            INT64[0] <= data <= INT64[1]):
        key = path.rstrip(".")
        raise KerazooError(f"recipe {recipe_name!r}: {key}: must be an integer between "
                           f"-2**63 and 2**63-1. Received: {key}={clip(repr(data))}")


def validate(data: dict[str, Any], recipe_name: str) -> Recipe:
    check_numbers(data, recipe_name)
    try:
        recipe = Recipe.model_validate(data)
    except ValidationError as error:
        raise KerazooError(format_validation_error(error, recipe_name)) from None
    check_names(recipe)
    check_strategy(recipe)
    return recipe


def check_strategy(recipe: Recipe) -> None:
    """What hogwild cannot do, said before anything runs: its workers apply plain SGD (no
    optimizer state to share) at a fixed rate, in processes of their own."""
    train = recipe.train

    def fail(key: str, accepted: str, received: str) -> KerazooError:
        return KerazooError(f"recipe {recipe.name!r}: train.{key}: {accepted}. "
                            f"Received: {received}")

    if train.strategy != "hogwild":
        if train.workers != 1 or train.lock:
            raise fail("workers", "workers and lock apply to train.strategy: hogwild",
                       f"workers={train.workers}, lock={train.lock}")
        return
    if train.optimizer.lower() != "sgd" or train.optimizer_kwargs:
        raise fail("optimizer", "strategy hogwild applies plain SGD: optimizer sgd with no "
                   "optimizer_kwargs", f"optimizer={train.optimizer!r}, "
                   f"optimizer_kwargs={train.optimizer_kwargs!r}")
    if train.learning_rate == "auto":
        raise fail("learning_rate", "strategy hogwild takes a fixed number, not 'auto'",
                   "learning_rate='auto'")
    if train.distribute != "none":
        raise fail("distribute", "strategy hogwild runs processes of its own: leave it 'none'",
                   f"distribute={train.distribute!r}")


def check_names(recipe: Recipe) -> None:
    """Every name a recipe uses must exist in its registry, with keywords it accepts."""
    from kerazoo.registry import callback_registry, data_registry, model_registry

    def check(section: NamedSection, registry, path: str) -> None:
        try:
            entry = registry.get(section.name)
            entry.check_keywords(section.kwargs, registry.kind)
        except KerazooError as error:
            raise KerazooError(f"recipe {recipe.name!r}: {path}: {error}") from None

    check(recipe.model, model_registry, "model")
    if "seed" in recipe.data.kwargs:
        raise KerazooError(f"recipe {recipe.name!r}: data: the data loader takes the recipe's "
                           f"top-level `seed`; remove data.seed. "
                           f"Received: seed={recipe.data.kwargs['seed']!r}")
    check(recipe.data, data_registry, "data")
    for index, callback in enumerate(recipe.callbacks):
        if callback.name in NOT_TRAINING_CALLBACKS:
            raise KerazooError(f"recipe {recipe.name!r}: callbacks.{index}: "
                               f"{callback.name!r}: {NOT_TRAINING_CALLBACKS[callback.name]}")
        check(callback, callback_registry, f"callbacks.{index}")


def load_recipe(name_or_path: str, overrides: list[str] | tuple[str, ...] = (),
                smoke: bool = False) -> Recipe:
    """Find, read, override and validate a recipe; raises `KerazooError` on any mistake."""
    assignments = [parse_assignment(item) for item in overrides]
    path = find_recipe(name_or_path)
    data = read_yaml(path)
    data.setdefault("name", path.stem)
    if smoke:
        smoke_overrides = data.get("smoke") or {}
        if not isinstance(smoke_overrides, dict):
            raise KerazooError(f"recipe {path.stem!r}: smoke: must be a mapping of dotted keys "
                               f"to values. Received: smoke={smoke_overrides!r}")
        data = apply_overrides(data, [("train.epochs", 1), *smoke_overrides.items()])
    data = apply_overrides(data, assignments)
    recipe = validate(data, clip(str(data.get("name", path.stem)), 60))
    recipe._source_path = path
    return recipe
