"""Finding the parts of a model a callback acts on (layers nested at any depth)."""

from __future__ import annotations

import keras

from kerazoo import keras_internals


def all_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """Every layer inside `model`, nested models and layers-within-layers included, once."""
    return keras_internals.all_layers(model)


def layers_of_type(model: keras.Model, kind: type, names: list[str] | None = None) -> list:
    """The layers of class `kind`, optionally only those named in `names`."""
    found = [layer for layer in all_layers(model) if isinstance(layer, kind)]
    if names is not None:
        found = [layer for layer in found if layer.name in names]
    return found


def regularizers_of_type(model: keras.Model, kind: type) -> list:
    """Weight and activity regularizers of class `kind`, each instance once."""
    found: dict[int, object] = {}
    for variable in model.weights:
        regularizer = getattr(variable, "regularizer", None)
        if isinstance(regularizer, kind):
            found[id(regularizer)] = regularizer
    for layer in all_layers(model):
        regularizer = getattr(layer, "activity_regularizer", None)
        if isinstance(regularizer, kind):
            found[id(regularizer)] = regularizer
    return list(found.values())
