"""Regularizers whose strength a callback can change during `fit`."""

from __future__ import annotations

import keras

from kerazoo import arguments


@keras.saving.register_keras_serializable(package="kerazoo")
class ScheduledL1L2(keras.regularizers.Regularizer):
    """L1 + L2 weight penalty, `l1 * sum(|w|) + l2 * sum(w^2)`, with schedulable strengths.

    Keras' `L1L2` keeps its strengths as Python floats, baked into the step when `fit`
    traces it (keras-team/keras#13301). Here they are non-trainable variables the step reads
    every time; `RegularizationScheduler` assigns them (and, on JAX, makes them part of the
    model's state for the fit, since JAX's compiled step reads only that state).
    `get_config` reports the current strengths. Share one instance between layers to
    schedule them together.
    """

    def __init__(self, l1: float = 0.0, l2: float = 0.0):
        self.l1 = keras.Variable(arguments.non_negative("l1", l1), dtype="float32",
                                 trainable=False, name="l1")
        self.l2 = keras.Variable(arguments.non_negative("l2", l2), dtype="float32",
                                 trainable=False, name="l2")

    def __call__(self, x):
        # Both terms always: a zero strength now may be scheduled up later.
        l1 = keras.ops.cast(self.l1, x.dtype)
        l2 = keras.ops.cast(self.l2, x.dtype)
        return l1 * keras.ops.sum(keras.ops.abs(x)) + l2 * keras.ops.sum(keras.ops.square(x))

    @property
    def variables(self) -> list[keras.Variable]:
        return [self.l1, self.l2]

    def get_config(self):
        return {"l1": float(keras.ops.convert_to_numpy(self.l1)),
                "l2": float(keras.ops.convert_to_numpy(self.l2))}
