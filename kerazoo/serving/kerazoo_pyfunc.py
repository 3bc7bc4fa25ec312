"""The python_function flavor of the models kerazoo logs.

This file travels with every logged model (MLflow's `code_paths`, in the model's `code/`
folder) and is imported there as the top-level module `kerazoo_pyfunc`, so it imports
nothing of kerazoo: only Keras, NumPy, pandas and MLflow, which the model's requirements
list. The Keras model is the one of the model's `keras` flavor (the same saved file), so
`mlflow.keras.load_model` and `mlflow.pyfunc.load_model` read one model.

What it adds to MLflow's own Keras pyfunc: a classifier (a model logged with `class_names`
in its metadata) answers each row with its predicted label and the probability of every
class, by name; any other model answers with its raw outputs, as MLflow's would.
"""

from __future__ import annotations

import importlib
import os

import keras
import mlflow.keras
import numpy as np
import pandas as pd
from mlflow.models import Model

# Metadata keys of the logged model (its MLmodel file).
CLASS_NAMES = "class_names"
KERAS_MODULES = "keras_modules"  # modules defining custom objects the model still holds


def _load_pyfunc(path: str) -> KerasPredictor:
    """Called by `mlflow.pyfunc.load_model` with the model's folder."""
    metadata = Model.load(os.path.join(path, "MLmodel")).metadata or {}
    for module in metadata.get(KERAS_MODULES, []):
        importlib.import_module(module)  # registers its classes before Keras looks them up
    return KerasPredictor(mlflow.keras.load_model(path), metadata.get(CLASS_NAMES))


class KerasPredictor:
    """Predictions of a Keras model, with labels when it is a classifier."""

    def __init__(self, model: keras.Model, class_names: list[str] | None = None):
        self.model = model
        self.class_names = None if class_names is None else [str(name)
                                                             for name in class_names]

    def get_raw_model(self) -> keras.Model:
        return self.model

    def predict(self, data, params=None):
        index = data.index if isinstance(data, pd.DataFrame) else None
        inputs = data.to_numpy() if isinstance(data, pd.DataFrame) else data
        return self.answers(self.model.predict(inputs, verbose=0), index)

    def answers(self, outputs, index=None):
        """What `predict` answers, given the model's outputs."""
        outputs = keras.tree.map_structure(keras.ops.convert_to_numpy, outputs)
        if self.class_names is not None:
            return self.labelled(outputs, index)
        if index is not None and isinstance(outputs, np.ndarray) and outputs.ndim == 2:
            return pd.DataFrame(outputs, index=index)
        return outputs

    def labelled(self, probabilities: np.ndarray, index=None) -> pd.DataFrame:
        """One row per input: `label`, the most probable class, and `probabilities`, each
        class's probability by name."""
        names = self.class_names
        if probabilities.ndim != 2 or probabilities.shape[1] != len(names):
            raise ValueError(f"a classifier of {len(names)} classes must output one row of "
                             f"{len(names)} probabilities per input; got shape "
                             f"{probabilities.shape}")
        return pd.DataFrame({
            "label": [names[column] for column in probabilities.argmax(axis=1)],
            "probabilities": [dict(zip(names, map(float, row), strict=True))
                              for row in probabilities],
        }, index=index)
