"""Denoising autoencoders (Vincent et al. 2008): corrupt the input, reconstruct the clean
one. Trained with the clean input as target; the corruption is a layer that acts only in
training, so the saved model maps inputs straight to reconstructions (what
`kerazoo.anomaly` scores)."""

from __future__ import annotations

import math

import keras

from kerazoo import arguments
from kerazoo.arguments import OUTPUT_DTYPE
from kerazoo.models.layers import NOISE_KINDS, Corruption
from kerazoo.registry import register_model

OUTPUT_ACTIVATIONS = ("sigmoid", "linear")


def _corrupted_input(input_shape, ranks, noise, noise_level):
    input_shape = arguments.shape("input_shape", input_shape, ranks=ranks)
    noise = arguments.one_of("noise", noise, NOISE_KINDS)
    inputs = keras.Input(shape=input_shape, name="inputs")
    return inputs, Corruption(noise, noise_level, name="corruption")(inputs)


@register_model(task="reconstruction", input_kind="tabular", family="autoencoder",
                tiny={"input_shape": [6], "units": [8, 4]})
def denoising_autoencoder(
    input_shape=(64,),
    units=(128, 32),
    activation="relu",
    noise="gaussian",
    noise_level=0.1,
    output_activation="sigmoid",
    name=None,
) -> keras.Model:
    """Dense encoder of `units` widths (the last is the code), mirrored decoder.

    Inputs of any rank are flattened and the output reshaped back. `noise` is "gaussian"
    (`noise_level` = standard deviation) or "masking" (`noise_level` = fraction zeroed).
    The "sigmoid" output suits data scaled to [0, 1] such as pixels; use "linear" for
    standardized features.
    """
    inputs, hidden = _corrupted_input(input_shape, (1, 2, 3), noise, noise_level)
    units = arguments.positive_ints("units", units)
    activation = arguments.activation("activation", activation)
    output_activation = arguments.one_of("output_activation", output_activation,
                                         OUTPUT_ACTIVATIONS)
    shape = tuple(inputs.shape[1:])
    if len(shape) > 1:
        hidden = keras.layers.Flatten(name="flatten")(hidden)
    for index, width in enumerate(units):
        hidden = keras.layers.Dense(width, activation=activation, name=f"encoder_{index}")(hidden)
    for index, width in enumerate(reversed(units[:-1])):
        hidden = keras.layers.Dense(width, activation=activation, name=f"decoder_{index}")(hidden)
    outputs = keras.layers.Dense(math.prod(shape), activation=output_activation,
                                 name="reconstruction", dtype=OUTPUT_DTYPE)(hidden)
    if len(shape) > 1:
        outputs = keras.layers.Reshape(shape, name="unflatten", dtype=OUTPUT_DTYPE)(outputs)
    return keras.Model(inputs, outputs, name=arguments.model_name(name, "denoising_autoencoder"))


@register_model(task="reconstruction", input_kind="image", family="autoencoder",
                tiny={"input_shape": [7, 6, 2], "filters": [4, 4], "noise": "masking"})
def conv_denoising_autoencoder(
    input_shape=(28, 28, 1),
    filters=(32, 64),
    kernel_size=3,
    activation="relu",
    noise="gaussian",
    noise_level=0.1,
    output_activation="sigmoid",
    name=None,
) -> keras.Model:
    """Stride-2 convolutions of `filters` counts down, transposed convolutions back up, a
    final convolution to the input's channels.

    Any image size works: height and width are zero-padded up to a multiple of
    2 ** len(filters) (each level halves them) and the reconstruction cropped back.
    """
    inputs, hidden = _corrupted_input(input_shape, (3,), noise, noise_level)
    filters = arguments.positive_ints("filters", filters)
    kernel_size = arguments.positive_int("kernel_size", kernel_size)
    activation = arguments.activation("activation", activation)
    output_activation = arguments.one_of("output_activation", output_activation,
                                         OUTPUT_ACTIVATIONS)
    height, width, channels = inputs.shape[1:]
    factor = 2 ** len(filters)
    padding = ((0, -height % factor), (0, -width % factor))
    if any(after for _, after in padding):
        hidden = keras.layers.ZeroPadding2D(padding, name="pad_to_multiple")(hidden)
    for index, count in enumerate(filters):
        hidden = keras.layers.Conv2D(count, kernel_size, strides=2, padding="same",
                                     activation=activation, name=f"encoder_{index}")(hidden)
    for index, count in enumerate(reversed(filters)):
        hidden = keras.layers.Conv2DTranspose(count, kernel_size, strides=2, padding="same",
                                              activation=activation,
                                              name=f"decoder_{index}")(hidden)
    outputs = keras.layers.Conv2D(channels, kernel_size, padding="same",
                                  activation=output_activation, name="reconstruction",
                                  dtype=OUTPUT_DTYPE)(hidden)
    if any(after for _, after in padding):
        outputs = keras.layers.Cropping2D(padding, name="crop_to_input",
                                          dtype=OUTPUT_DTYPE)(outputs)
    return keras.Model(inputs, outputs,
                       name=arguments.model_name(name, "conv_denoising_autoencoder"))
