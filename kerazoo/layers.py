"""Layers whose behaviour a callback can change during `fit`."""

from __future__ import annotations

import keras

from kerazoo import arguments


@keras.saving.register_keras_serializable(package="kerazoo")
class ScheduledDropout(keras.layers.Layer):
    """Dropout whose rate can change while training, inside the compiled step.

    A `keras.layers.Dropout` rate is a Python float, baked into the step when `fit` traces
    it, so changing it later has no effect (keras-team/keras#8826). Here the rate is a
    non-trainable variable the step reads every time; `DropoutScheduler` assigns it. Being a
    layer weight, it is saved and restored with the model; `get_config` reports the current
    rate.

    Inverted dropout as in Keras: kept activations are scaled by 1 / (1 - rate) in training,
    and the layer is the identity at inference.
    """

    def __init__(self, rate: float, noise_shape=None, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        rate = arguments.fraction("rate", rate)
        self.rate = self.add_weight(shape=(), initializer=keras.initializers.Constant(rate),
                                    trainable=False, name="rate")
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.supports_masking = True
        self.built = True

    def _noise_shape(self, inputs):
        if self.noise_shape is None:
            return keras.ops.shape(inputs)
        input_shape = keras.ops.shape(inputs)
        return tuple(input_shape[axis] if size is None else size
                     for axis, size in enumerate(self.noise_shape))

    def call(self, inputs, training=False):
        if not training:
            return inputs
        # No `if rate > 0` shortcut: the rate is only known when the step runs.
        rate = keras.ops.cast(self.rate, inputs.dtype)
        draws = keras.random.uniform(self._noise_shape(inputs), dtype=inputs.dtype,
                                     seed=self.seed_generator)
        kept = keras.ops.greater_equal(draws, rate)
        return keras.ops.where(kept, inputs / (1.0 - rate), keras.ops.zeros_like(inputs))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(),
                "rate": float(keras.ops.convert_to_numpy(self.rate)),
                "noise_shape": None if self.noise_shape is None else list(self.noise_shape),
                "seed": self.seed}
