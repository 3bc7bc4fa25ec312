"""Layers the zoo needs that Keras does not ship.

Each is registered under the package "kerazoo" so a saved `.keras` file reloads with
`safe_mode=True` after `import kerazoo.models`, and `get_config()` returns exactly the
constructor arguments.
"""

from __future__ import annotations

import keras
from keras import ops

from kerazoo import arguments

NOISE_KINDS = ("gaussian", "masking")


@keras.saving.register_keras_serializable(package="kerazoo")
class LocalResponseNormalization(keras.layers.Layer):
    """Krizhevsky et al. (2012), section 3.3: each activation is divided by
    (bias + alpha * sum of squares over `depth_radius` neighbouring channels each side) ** beta.

    The defaults are the paper's k=2, n=5 (radius 2), alpha=1e-4, beta=0.75. Alpha multiplies
    the plain sum, as in the paper (Caffe divides it by n first). Channels are the last axis.
    """

    def __init__(self, depth_radius=2, bias=2.0, alpha=1e-4, beta=0.75, **kwargs):
        super().__init__(**kwargs)
        self.depth_radius = arguments.int_at_least("depth_radius", depth_radius, 0)
        self.bias = arguments.non_negative("bias", bias)
        self.alpha = arguments.non_negative("alpha", alpha)
        self.beta = arguments.non_negative("beta", beta)
        self.supports_masking = True

    def call(self, inputs):
        channels = inputs.shape[-1]
        squares = ops.square(inputs)
        radius = self.depth_radius
        padding = [[0, 0]] * (len(inputs.shape) - 1) + [[radius, radius]]
        padded = ops.pad(squares, padding)
        # A sum of 2r+1 shifted copies: plain ops every backend has, and r is tiny (2).
        window_sums = padded[..., 0:channels]
        for offset in range(1, 2 * radius + 1):
            window_sums = window_sums + padded[..., offset:offset + channels]
        return inputs / ops.power(self.bias + self.alpha * window_sums, self.beta)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "depth_radius": self.depth_radius, "bias": self.bias,
                "alpha": self.alpha, "beta": self.beta}


@keras.saving.register_keras_serializable(package="kerazoo")
class Corruption(keras.layers.Layer):
    """The corruption of a denoising autoencoder (Vincent et al. 2008, 2010), active only in
    training so that the saved model reconstructs clean inputs as they are.

    "gaussian" adds N(0, noise_level^2) noise; "masking" sets a random `noise_level` fraction
    of the inputs to zero. Unlike `keras.layers.Dropout`, masking does not rescale the survivors:
    the network must learn to fill in what is missing, not to undo a scale factor.
    """

    def __init__(self, noise="gaussian", noise_level=0.1, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.noise = arguments.one_of("noise", noise, NOISE_KINDS)
        if self.noise == "masking":
            self.noise_level = arguments.fraction("noise_level", noise_level)
        else:
            self.noise_level = arguments.non_negative("noise_level", noise_level)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.supports_masking = True

    def call(self, inputs, training=None):
        if not training or self.noise_level == 0:
            return inputs
        if self.noise == "gaussian":
            return inputs + keras.random.normal(ops.shape(inputs), stddev=self.noise_level,
                                                dtype=inputs.dtype, seed=self.seed_generator)
        draws = keras.random.uniform(ops.shape(inputs), dtype=inputs.dtype,
                                     seed=self.seed_generator)
        return ops.where(draws < self.noise_level, ops.zeros_like(inputs), inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "noise": self.noise, "noise_level": self.noise_level,
                "seed": self.seed}


@keras.saving.register_keras_serializable(package="kerazoo")
class RepeatAlongSteps(keras.layers.Layer):
    """Called on [vector (batch, features), sequence (batch, steps, ...)]: the vector copied
    to every step of the sequence.

    `keras.layers.RepeatVector` needs the number of steps when the model is built; here it is
    read from the sequence at call time, so the decoder of a seq2seq model accepts any length.
    The sequence's mask passes through (the copies are padding where the sequence is).
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs):
        vector, sequence = inputs
        ones = ops.ones_like(sequence[:, :, :1], dtype=vector.dtype)
        return ops.expand_dims(vector, 1) * ones

    def compute_mask(self, inputs, mask=None):
        return None if mask is None else mask[1]

    def compute_output_shape(self, input_shape):
        vector_shape, sequence_shape = input_shape
        return (vector_shape[0], sequence_shape[1], vector_shape[-1])
