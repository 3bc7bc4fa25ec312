"""kerazoo: a Keras 3 model zoo with learning-rate and regularization callbacks, recipes and
MLflow tracking.

    import kerazoo
    model = kerazoo.build("mlp", units=[128], dropout=0.2)   # a plain keras.Model
    kerazoo.list_models("*rnn*")

The names below are loaded on first use, so `import kerazoo` (and `kerazoo --help`) does not
pay for importing Keras and its backend.
"""

from __future__ import annotations

import importlib
import os

# MLflow sends usage telemetry unless told not to; kerazoo is offline-first, so its processes
# contact nothing unasked. MLflow reads this when it is imported, so it is set here, before
# any kerazoo module imports MLflow; MLFLOW_DISABLE_TELEMETRY=false turns it back on.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

__version__ = "0.1.0"

_PUBLIC = {
    "KerazooError": "kerazoo.errors",
    "ModelInfo": "kerazoo.registry",
    "build": "kerazoo.registry",
    "list_models": "kerazoo.registry",
    "load": "kerazoo.tracking.presets",
    "model_info": "kerazoo.registry",
    "register_callback": "kerazoo.registry",
    "register_data": "kerazoo.registry",
    "register_model": "kerazoo.registry",
}

__all__ = ["__version__", *_PUBLIC]


# Keras' deserializer must know kerazoo's custom layers, regularizers and optimizer without
# `import kerazoo.models`; they register once Keras is imported (see kerazoo/serializables.py).
importlib.import_module("kerazoo.serializables").register_when_keras_is_imported()


def __getattr__(name: str):
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'kerazoo' has no attribute {name!r}")
