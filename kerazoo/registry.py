"""Name -> function registries for model builders, data loaders and callbacks.

One `Registry` class serves all three so that plugins work the same way everywhere: a
third-party package lists its functions under the entry-point group (`kerazoo.models`,
`kerazoo.data`, `kerazoo.callbacks`) and they appear in kerazoo without a fork. Entry points
are loaded lazily, on the first lookup, so importing kerazoo stays cheap and a broken plugin
cannot break `import kerazoo`.
"""

from __future__ import annotations

import fnmatch
import importlib
import inspect
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

from kerazoo.errors import KerazooError, did_you_mean, unknown_name


@dataclass(frozen=True)
class Entry:
    name: str
    function: Callable[..., Any]
    info: Any = None

    @property
    def parameters(self) -> dict[str, inspect.Parameter]:
        return dict(inspect.signature(self.function).parameters)

    def defaults(self) -> dict[str, Any]:
        return {
            name: parameter.default
            for name, parameter in self.parameters.items()
            if parameter.default is not inspect.Parameter.empty
        }

    def check_keywords(self, kwargs: dict[str, Any], kind: str) -> None:
        """Reject keywords the function does not take, naming the accepted ones."""
        parameters = self.parameters
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
            return
        accepted = sorted(parameters)
        for keyword in kwargs:
            if keyword not in parameters:
                raise KerazooError(
                    f"{kind} {self.name!r} has no argument {keyword!r}"
                    f"{did_you_mean(keyword, accepted)}; accepted: {', '.join(accepted)}"
                )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.function(*args, **kwargs)


@dataclass
class Registry:
    """Functions registered under their names, plus those advertised by entry points."""

    kind: str
    entry_point_group: str
    # The package whose import registers kerazoo's own entries (imported on first lookup).
    builtin_module: str = ""
    # Info given to a plugin function that was not registered with its decorator.
    default_info: Callable[[], Any] = lambda: None
    _entries: dict[str, Entry] = field(default_factory=dict)
    _plugins_loaded: bool = False

    def add(self, function: Callable[..., Any], info: Any = None, name: str | None = None):
        name = name or function.__name__
        existing = self._entries.get(name)
        if existing is not None:
            if existing.function is function:
                return function
            raise KerazooError(
                f"{self.kind} {name!r} is already registered by "
                f"{existing.function.__module__}.{existing.function.__qualname__}; "
                "pick another name"
            )
        self._entries[name] = Entry(name, function, info)
        return function

    def get(self, name: str) -> Entry:
        self.load_plugins()
        entry = self._entries.get(name)
        if entry is None:
            raise unknown_name(self.kind, name, self._entries)
        return entry

    def names(self, pattern: str = "*") -> list[str]:
        self.load_plugins()
        return sorted(name for name in self._entries if fnmatch.fnmatchcase(name, pattern))

    def __contains__(self, name: str) -> bool:
        self.load_plugins()
        return name in self._entries

    def load_plugins(self) -> None:
        """Import kerazoo's own entries, then every entry point of the group, once.

        An entry point may name a module (importing it runs its decorators) or a function
        (registered under the entry point's name unless its decorator already did).
        """
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        if self.builtin_module:
            importlib.import_module(self.builtin_module)
        for entry_point in metadata.entry_points(group=self.entry_point_group):
            try:
                loaded = entry_point.load()
            except Exception as error:  # a broken plugin must not break kerazoo
                warnings.warn(
                    f"kerazoo: skipped plugin {entry_point.value!r} from entry-point group "
                    f"{self.entry_point_group!r}: {type(error).__name__}: {error}",
                    stacklevel=2,
                )
                continue
            if callable(loaded) and not any(
                entry.function is loaded for entry in self._entries.values()
            ):
                self.add(loaded, info=self.default_info(), name=entry_point.name)

    def reset_plugins(self) -> None:
        """Forget that entry points were read, so newly installed plugins are found."""
        self._plugins_loaded = False


# --- models -------------------------------------------------------------------------------

# The loss and metrics a recipe gets when it names none, by the task a builder declares.
TASK_DEFAULTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "classification": ("sparse_categorical_crossentropy", ("accuracy",)),
    "binary_classification": ("binary_crossentropy", ("accuracy",)),
    "regression": ("mean_squared_error", ("mean_absolute_error",)),
    "language_model": ("sparse_categorical_crossentropy", ("accuracy",)),
    "sequence_to_sequence": ("sparse_categorical_crossentropy", ("accuracy",)),
    "reconstruction": ("mean_squared_error", ("mean_absolute_error",)),
}


@dataclass(frozen=True)
class ModelInfo:
    """What recipes and `kerazoo list` need to know about a builder without building it."""

    task: str
    input_kind: str
    family: str
    loss: str | None = None
    metrics: tuple[str, ...] = ()
    # Keywords that build a tiny version, for the registry-wide tests.
    tiny: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def for_task(cls, task: str, input_kind: str, family: str, loss: str | None = None,
                 metrics: tuple[str, ...] | None = None,
                 tiny: dict[str, Any] | None = None) -> ModelInfo:
        default_loss, default_metrics = TASK_DEFAULTS.get(task, (None, ()))
        return cls(task, input_kind, family, loss or default_loss,
                   tuple(metrics) if metrics is not None else default_metrics, dict(tiny or {}))


model_registry = Registry(
    "model", "kerazoo.models", builtin_module="kerazoo.models",
    default_info=lambda: ModelInfo("custom", "unknown", "plugin"),
)


def register_model(function: Callable[..., Any] | None = None, *, task: str = "classification",
                   input_kind: str = "tabular", family: str | None = None,
                   loss: str | None = None, metrics: tuple[str, ...] | None = None,
                   tiny: dict[str, Any] | None = None):
    """Register a builder under its function name.

    Use bare (`@register_model`) or with metadata (`@register_model(task="regression")`).
    The function must give every argument a default so `build(name)` works alone. `task`
    picks the default loss and metrics (see TASK_DEFAULTS) unless `loss`/`metrics` are given;
    `tiny` holds keywords for a tiny version that the registry-wide tests build.
    """

    def decorate(builder: Callable[..., Any]) -> Callable[..., Any]:
        missing = [name for name, parameter in inspect.signature(builder).parameters.items()
                   if parameter.default is inspect.Parameter.empty
                   and parameter.kind not in (inspect.Parameter.VAR_POSITIONAL,
                                              inspect.Parameter.VAR_KEYWORD)]
        if missing:
            raise KerazooError(
                f"builder {builder.__name__!r} must give every argument a default; "
                f"missing: {', '.join(missing)}"
            )
        if task not in TASK_DEFAULTS and loss is None:
            raise KerazooError(
                f"builder {builder.__name__!r}: task {task!r} has no default loss"
                f"{did_you_mean(task, TASK_DEFAULTS)}; use one of {', '.join(TASK_DEFAULTS)} "
                "or give loss=")
        info = ModelInfo.for_task(task, input_kind, family or builder.__name__, loss, metrics,
                                  tiny)
        return model_registry.add(builder, info)

    return decorate(function) if function is not None else decorate


def build(model: str, /, **kwargs: Any):
    """Build the registered model `model`; returns an uncompiled `keras.Model`. `name=` is
    the Keras model's name, as every builder takes it."""
    entry = model_registry.get(model)
    entry.check_keywords(kwargs, "model")
    return entry(**kwargs)


def list_models(pattern: str = "*") -> list[str]:
    """Registered model names matching a shell wildcard, e.g. `list_models("*rnn*")`."""
    return model_registry.names(pattern)


def model_info(name: str) -> ModelInfo:
    return model_registry.get(name).info


# --- data loaders ---------------------------------------------------------------------------

data_registry = Registry("data loader", "kerazoo.data", builtin_module="kerazoo.data")


def register_data(function: Callable[..., Any] | None = None, *, name: str | None = None):
    """Register a data loader: a function `(seed, **kwargs) -> kerazoo.data.DataSplits`."""

    def decorate(loader: Callable[..., Any]) -> Callable[..., Any]:
        return data_registry.add(loader, name=name)

    return decorate(function) if function is not None else decorate


# --- callbacks -----------------------------------------------------------------------------

callback_registry = Registry("callback", "kerazoo.callbacks",
                             builtin_module="kerazoo.callbacks")


def register_callback(function: Callable[..., Any] | None = None, *, name: str | None = None):
    """Register a callback factory (a class or function returning a `keras.callbacks.Callback`)
    under a snake_case name that recipes use."""

    def decorate(factory: Callable[..., Any]) -> Callable[..., Any]:
        return callback_registry.add(factory, name=name)

    return decorate(function) if function is not None else decorate
