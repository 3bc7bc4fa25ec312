"""Registering kerazoo's Keras-serializable objects, so `import kerazoo` is enough for
`keras.saving.load_model(path, safe_mode=True)` to load anything kerazoo saved.

`import kerazoo` must stay cheap (`kerazoo --help` never loads TensorFlow), and Keras only
imports `keras*` modules while deserializing, so the registering modules are imported as
soon as Keras is: now, when it already is, or right after its own import finishes, through
a one-shot import-system finder (the standard `sys.meta_path` hook; nothing of Keras is
patched). A process that never imports Keras never pays for it.
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


class _RegisteringLoader(importlib.abc.Loader):
    """Keras' own loader, then `register()`; everything else is the wrapped loader's."""

    def __init__(self, loader):
        self._loader = loader

    def __getattr__(self, name):  # resource readers and the like stay Keras' loader's
        return getattr(self._loader, name)

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        register()


class _AfterKerasImport(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        if fullname != "keras":
            return None
        sys.meta_path.remove(self)  # one shot, and the lookup below must not find us again
        spec = importlib.util.find_spec("keras")
        if spec is not None and spec.loader is not None:
            spec.loader = _RegisteringLoader(spec.loader)
        return spec


def register_when_keras_is_imported() -> None:
    if "keras" in sys.modules:
        register()
    elif not any(isinstance(finder, _AfterKerasImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _AfterKerasImport())
