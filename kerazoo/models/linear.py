"""Linear models: the baselines every course starts from, with optional L1/L2 penalties
(L1 gives the lasso's sparse weights, L2 ridge regression's small ones)."""

from __future__ import annotations

import keras

from kerazoo import arguments
from kerazoo.arguments import OUTPUT_DTYPE
from kerazoo.registry import register_model


def _features(input_shape) -> tuple[keras.KerasTensor, keras.KerasTensor]:
    """The input and its flat view (images become pixel vectors, as in a first lesson)."""
    input_shape = arguments.shape("input_shape", input_shape)
    inputs = keras.Input(shape=input_shape, name="features")
    flat = keras.layers.Flatten(name="flatten")(inputs) if len(input_shape) > 1 else inputs
    return inputs, flat


@register_model(task="classification", input_kind="tabular", family="linear",
                tiny={"input_shape": [8], "num_classes": 3})
def logistic_regression(input_shape=(64,), num_classes=10, l1=0.0, l2=0.0,
                        name=None) -> keras.Model:
    """Softmax (multinomial logistic) regression: one dense layer, probabilities out."""
    num_classes = arguments.int_at_least("num_classes", num_classes, 2)
    regularizer = arguments.l1_l2(l1, l2)
    inputs, flat = _features(input_shape)
    outputs = keras.layers.Dense(num_classes, activation="softmax",
                                 kernel_regularizer=regularizer, name="probabilities",
                                 dtype=OUTPUT_DTYPE)(flat)
    return keras.Model(inputs, outputs, name=arguments.model_name(name, "logistic_regression"))


@register_model(task="regression", input_kind="tabular", family="linear",
                tiny={"input_shape": [16], "num_outputs": 2})
def linear_regression(input_shape=(10,), num_outputs=1, l1=0.0, l2=0.0,
                      name=None) -> keras.Model:
    """Least squares when trained with mean squared error; `num_outputs` targets at once."""
    num_outputs = arguments.positive_int("num_outputs", num_outputs)
    regularizer = arguments.l1_l2(l1, l2)
    inputs, flat = _features(input_shape)
    outputs = keras.layers.Dense(num_outputs, kernel_regularizer=regularizer,
                                 name="prediction", dtype=OUTPUT_DTYPE)(flat)
    return keras.Model(inputs, outputs, name=arguments.model_name(name, "linear_regression"))
