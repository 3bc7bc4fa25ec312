"""A copy of a trained model made of Keras' own objects, so it loads where kerazoo is absent.

Keras deserializes a custom class only if its module is already imported: it imports modules
itself for its own packages alone. A saved model with a kerazoo layer therefore fails to load in
a process that never imported kerazoo (MLflow's scoring server, a colleague's notebook). Each of
kerazoo's objects computes at inference something Keras already has, so the copy swaps them:

- `Corruption` adds noise in training only: `keras.layers.Identity`.
- `ScheduledDropout` is `keras.layers.Dropout` at its current rate.
- `ScheduledL1L2` is `keras.regularizers.L1L2` at its current strengths (a penalty never
  changes outputs, but keeps the copy trainable as the original was).
- `RepeatAlongSteps` is a small built-in graph: a ones column per step of the sequence
  (a frozen `Dense(1)` with zero kernel and unit bias) times the vector.

Weights are copied, and the copy's outputs are checked equal to the original's on example
rows. A layer with no built-in equivalent (`LocalResponseNormalization`) stays as it is;
`modules_needed` names the modules a loader must import first.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from kerazoo.layers import ScheduledDropout
from kerazoo.models.layers import Corruption, RepeatAlongSteps
from kerazoo.regularizers import ScheduledL1L2

# The copy computes the same numbers through the same kernels; only float rounding in a
# regrouped graph could differ, far below this.
TOLERANCE = 1e-6
REPLACED = (Corruption, ScheduledDropout, RepeatAlongSteps)


def portable_copy(model: keras.Model, example_inputs: Any) -> keras.Model:
    """`model` with kerazoo's objects replaced by Keras' own, its weights, and its compile
    settings; raises if its outputs on `example_inputs` differ from the original's."""
    if not any(isinstance(layer, REPLACED) or _scheduled_config(layer.get_config())
               for layer in _all_layers(model)):
        return model
    copy = keras.models.clone_model(model, clone_function=_clone_layer,
                                    call_function=_call_layer, recursive=True)
    originals = {variable.path: variable for variable in model.weights}
    for variable in copy.weights:  # a replacement's own weights (the ones column) are set
        if variable.path in originals:
            variable.assign(originals[variable.path])
    _check_same_outputs(model, copy, example_inputs)
    return copy


def modules_needed(model: keras.Model) -> list[str]:
    """Modules outside Keras that define objects of `model`'s saved config: what a process
    must import before `keras.saving.load_model` can rebuild it."""
    found: set[str] = set()

    def visit(value):
        if isinstance(value, dict):
            module = value.get("module")
            if isinstance(module, str) and "class_name" in value and \
                    module.split(".")[0] != "keras":
                found.add(module)
            for item in value.values():
                visit(item)
        elif isinstance(value, list | tuple):
            for item in value:
                visit(item)

    visit(keras.saving.serialize_keras_object(model))
    return sorted(found)


def _all_layers(model: keras.Model):
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from _all_layers(layer)


def _clone_layer(layer: keras.layers.Layer) -> keras.layers.Layer:
    """The built-in layer computing what `layer` computes at inference, or a plain clone."""
    if isinstance(layer, Corruption):
        return keras.layers.Identity(name=layer.name)
    if isinstance(layer, ScheduledDropout):
        config = layer.get_config()  # the rate it has now
        return keras.layers.Dropout(config["rate"], noise_shape=config["noise_shape"],
                                    seed=config["seed"], name=layer.name)
    if isinstance(layer, RepeatAlongSteps):
        return layer  # never called: `_call_layer` puts built-in layers in its place
    config = layer.get_config()
    return layer.__class__.from_config(_scheduled_config(config) or config)


def _call_layer(layer: keras.layers.Layer, *args, **kwargs):
    if isinstance(layer, RepeatAlongSteps):
        return _repeat_along_steps(layer.name, *args, **kwargs)
    return layer(*args, **kwargs)


def _repeat_along_steps(name: str, inputs, **kwargs):
    """RepeatAlongSteps()([vector, sequence]) in built-in layers: a column of ones per step
    of the sequence (a frozen Dense(1), zero kernel, unit bias) times the vector as one step.
    The product broadcasts to (batch, steps, features) and keeps the sequence's mask."""
    vector, sequence = inputs
    ones = keras.layers.Dense(1, kernel_initializer="zeros", bias_initializer="ones",
                              trainable=False, name=f"{name}_ones")(sequence)
    row = keras.layers.Reshape((1, vector.shape[-1]), name=f"{name}_as_one_step")(vector)
    return keras.layers.Multiply(name=name)([ones, row], **kwargs)


def _scheduled_config(config: dict[str, Any]) -> dict[str, Any] | None:
    """`config` with every serialized ScheduledL1L2 turned into a Keras L1L2 at the same
    strengths; None when it holds none."""
    scheduled = keras.saving.get_registered_name(ScheduledL1L2)
    changed = False

    def plain(value):
        nonlocal changed
        if isinstance(value, dict):
            if value.get("registered_name") == scheduled:
                changed = True
                return keras.saving.serialize_keras_object(
                    keras.regularizers.L1L2(**value["config"]))
            return {key: plain(item) for key, item in value.items()}
        if isinstance(value, list):
            return [plain(item) for item in value]
        return value

    result = plain(config)
    return result if changed else None


def _check_same_outputs(model: keras.Model, copy: keras.Model, example_inputs: Any) -> None:
    expected = keras.tree.flatten(model(example_inputs, training=False))
    actual = keras.tree.flatten(copy(example_inputs, training=False))
    for left, right in zip(expected, actual, strict=True):
        left, right = keras.ops.convert_to_numpy(left), keras.ops.convert_to_numpy(right)
        if left.shape != right.shape or not np.allclose(left, right, rtol=TOLERANCE,
                                                        atol=TOLERANCE):
            raise RuntimeError(f"the portable copy of model {model.name!r} computes other "
                               "outputs than the model; it cannot be logged in its place")
