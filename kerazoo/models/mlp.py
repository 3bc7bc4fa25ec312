"""Multi-layer perceptron: the model of backprop, ReLU and dropout lessons."""

from __future__ import annotations

import keras

from kerazoo import arguments
from kerazoo.arguments import OUTPUT_DTYPE
from kerazoo.layers import ScheduledDropout
from kerazoo.registry import register_model
from kerazoo.regularizers import ScheduledL1L2


@register_model(task="classification", input_kind="tabular", family="mlp",
                tiny={"units": [8], "num_classes": 3})
def mlp(
    input_shape=(64,),
    units=(256, 128),
    activation="relu",
    dropout=0.0,
    l1=0.0,
    l2=0.0,
    batch_normalization=False,
    num_classes=10,
    schedulable=False,
    name=None,
) -> keras.Model:
    """Dense layers of `units` widths, each followed by optional batch norm and dropout.

    Inputs of rank > 1 (images) are flattened first. The output is a softmax over
    `num_classes`; pair it with sparse categorical cross-entropy on integer labels.

    `schedulable=True` keeps the dropout rate and the L1/L2 strengths in variables
    (`kerazoo.layers.ScheduledDropout` after every hidden layer, even at rate 0, and one shared
    `kerazoo.regularizers.ScheduledL1L2`), so the `dropout_scheduler` and
    `regularization_scheduler` callbacks can change them during `fit`; Keras' own Dropout and
    L1L2 are fixed once the training step is traced.
    """
    input_shape = arguments.shape("input_shape", input_shape)
    units = arguments.positive_ints("units", units, allow_empty=True)
    activation = arguments.activation("activation", activation)
    dropout = arguments.fraction("dropout", dropout)
    num_classes = arguments.int_at_least("num_classes", num_classes, 2)
    batch_normalization = arguments.boolean("batch_normalization", batch_normalization)
    schedulable = arguments.boolean("schedulable", schedulable)
    if schedulable:
        regularizer = ScheduledL1L2(arguments.non_negative("l1", l1),
                                    arguments.non_negative("l2", l2))
    else:
        regularizer = arguments.l1_l2(l1, l2)

    inputs = keras.Input(shape=input_shape, name="features")
    hidden = keras.layers.Flatten()(inputs) if len(input_shape) > 1 else inputs
    for index, width in enumerate(units):
        hidden = keras.layers.Dense(
            width, kernel_regularizer=regularizer, name=f"dense_{index}"
        )(hidden)
        if batch_normalization:
            hidden = keras.layers.BatchNormalization(name=f"batch_norm_{index}")(hidden)
        hidden = keras.layers.Activation(activation, name=f"{activation}_{index}")(hidden)
        if schedulable:
            hidden = ScheduledDropout(dropout, name=f"dropout_{index}")(hidden)
        elif dropout:
            hidden = keras.layers.Dropout(dropout, name=f"dropout_{index}")(hidden)
    outputs = keras.layers.Dense(
        num_classes, activation="softmax", kernel_regularizer=regularizer, name="probabilities",
        dtype=OUTPUT_DTYPE,
    )(hidden)
    return keras.Model(inputs, outputs, name=arguments.model_name(name, "mlp"))
