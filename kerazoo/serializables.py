"""Registering kerazoo's Keras-serializable objects, so `import kerazoo` is enough for
`keras.saving.load_model(path, safe_mode=True)` to load anything kerazoo saved.

`import kerazoo` must stay cheap (`kerazoo --help` never loads TensorFlow), and Keras only
imports `keras*` modules while deserializing, so the registering modules are imported as
soon as Keras is: now, when it already is, or once its import finishes, through an
import-system finder (the standard `sys.meta_path` hook; nothing of Keras is patched). When
a kerazoo module imported Keras at its top, registering waits until no kerazoo module is
half imported (registering imports kerazoo modules that need them whole), which the finder
sees as each kerazoo module's import ends. A process that never imports Keras never pays.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

# Every module holding a `keras.saving.register_keras_serializable` class.
REGISTERING_MODULES = (
    "kerazoo.layers",
    "kerazoo.regularizers",
    "kerazoo.models.layers",
    "kerazoo.callbacks.gradient_noise",
)


def register() -> None:
    for module in REGISTERING_MODULES:
        importlib.import_module(module)


def _half_imported_kerazoo_modules(besides: str) -> list[str]:
    return [name for name, module in list(sys.modules.items())
            if (name == "kerazoo" or name.startswith("kerazoo.")) and name != besides
            and getattr(getattr(module, "__spec__", None), "_initializing", False)]


class _ThenTell(importlib.abc.Loader):
    """A module's own loader, then `finder.imported(name)`; everything else is the wrapped
    loader's (resource readers, sources)."""

    def __init__(self, loader, finder: _RegisterAfterKeras, name: str):
        self._loader, self._finder, self._name = loader, finder, name

    def __getattr__(self, attribute):
        return getattr(self._loader, attribute)

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        self._finder.imported(self._name)


class _RegisterAfterKeras(importlib.abc.MetaPathFinder):
    """Watches the imports of keras and of kerazoo's modules until it has registered."""

    def __init__(self):
        self.keras_imported = False
        self._looking_up = False

    def find_spec(self, fullname, path, target=None):
        if self._looking_up or not (fullname == "keras" or fullname.startswith("kerazoo.")):
            return None
        self._looking_up = True  # the lookup below goes through sys.meta_path again
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            self._looking_up = False
        if spec is not None and spec.loader is not None:
            spec.loader = _ThenTell(spec.loader, self, fullname)
        return spec

    def imported(self, name: str) -> None:
        self.keras_imported = self.keras_imported or name == "keras"
        if self.keras_imported and not _half_imported_kerazoo_modules(besides=name):
            if self in sys.meta_path:
                sys.meta_path.remove(self)
                register()


def register_when_keras_is_imported() -> None:
    if "keras" in sys.modules:
        register()
    elif not any(isinstance(finder, _RegisterAfterKeras) for finder in sys.meta_path):
        sys.meta_path.insert(0, _RegisterAfterKeras())
