"""AlexNet after Krizhevsky, Sutskever & Hinton (2012), "ImageNet Classification with Deep
Convolutional Neural Networks": five convolutions, ReLU, local response normalization,
overlapping max pooling and three dense layers with dropout.

At `input_shape=(227, 227, 3), num_classes=1000, width_multiplier=1` it is the paper's
network: 62.4 M parameters, or 61.0 M with `groups=2` (the paper's split of conv2, conv4 and
conv5 across two GPUs), the "60 million parameters" of its abstract.
"""

from __future__ import annotations

import keras

from kerazoo import arguments
from kerazoo.arguments import OUTPUT_DTYPE
from kerazoo.models.layers import LocalResponseNormalization
from kerazoo.registry import register_model

PAPER_FILTERS = (96, 256, 384, 384, 256)
PAPER_DENSE_UNITS = (4096, 4096)
# Convolutions the paper split in two halves, one per GPU (conv3 sees both halves).
GROUPED_CONVOLUTIONS = (1, 3, 4)
# Overlapping pooling, section 3.4: 3x3 windows, stride 2.
POOL_SIZE, POOL_STRIDE = 3, 2


def stem_for(side: int) -> tuple[int, int, str]:
    """(kernel, stride, padding) of the first convolution for images whose shorter side is
    `side`. The paper's 11x11 stride-4 stem turns 227 pixels into 55; on 32x32 images it
    would leave almost nothing for the later layers, so smaller images get a smaller kernel
    and stride that keep the paper's proportion of resolution for the pooling stages."""
    if side >= 128:
        return 11, 4, "valid"
    if side >= 64:
        return 7, 2, "same"
    return 5, 1, "same"


def _pooled(side: int) -> int:
    return (side - POOL_SIZE) // POOL_STRIDE + 1 if side >= POOL_SIZE else 0


def final_side(side: int, stem: tuple[int, int, str]) -> int:
    """Side of the last feature map, or 0 when some pooling gets less than a 3x3 window."""
    kernel, stride, padding = stem
    side = (side - kernel) // stride + 1 if padding == "valid" else -(-side // stride)
    for _ in range(3):  # after conv1, conv2 and conv5; the others keep the size ('same')
        side = _pooled(side) if side > 0 else 0
    return side


def smallest_side() -> int:
    return next(side for side in range(1, 1000) if final_side(side, stem_for(side)) > 0)


def _scaled(width: int, multiplier: float, groups: int = 1) -> int:
    """`width * multiplier`, rounded to a multiple of `groups` and at least `groups`."""
    return max(groups, round(width * multiplier / groups) * groups)


TINY = {"input_shape": [16, 16, 3], "num_classes": 3, "width_multiplier": 0.0625, "dropout": 0.0}


@register_model(task="classification", input_kind="image", family="alexnet", tiny=TINY)
def alexnet(
    input_shape=(227, 227, 3),
    num_classes=1000,
    width_multiplier=1.0,
    filters=PAPER_FILTERS,
    dense_units=PAPER_DENSE_UNITS,
    activation="relu",
    dropout=0.5,
    local_response_normalization=True,
    groups=1,
    name=None,
) -> keras.Model:
    """The paper's network: 227x227x3 images, 1000 classes, full widths, LRN. Its defaults
    are ImageNet's; `alexnet_cifar` is the CPU-sized variant the recipes' sizes come from.

    Conv(stem) - LRN - pool - conv2 - LRN - pool - conv3 - conv4 - conv5 - pool - dense
    - dropout - dense - dropout - softmax.

    `width_multiplier` scales every convolution's filters and every dense layer's units;
    `filters` (5 numbers) and `dense_units` (2) are the widths before scaling. The first
    convolution's kernel and stride follow the input size (see `stem_for`). `activation`
    is there to repeat the paper's ReLU-versus-tanh comparison (its figure 1).
    """
    input_shape = arguments.shape("input_shape", input_shape, ranks=(3,))
    num_classes = arguments.int_at_least("num_classes", num_classes, 2)
    width_multiplier = arguments.positive_number("width_multiplier", width_multiplier)
    filters = arguments.positive_ints("filters", filters)
    if len(filters) != 5:
        raise arguments.fail("filters", "a list of 5 positive integers (conv1 to conv5)",
                             filters)
    dense_units = arguments.positive_ints("dense_units", dense_units)
    if len(dense_units) != 2:
        raise arguments.fail("dense_units", "a list of 2 positive integers", dense_units)
    activation = arguments.activation("activation", activation)
    dropout = arguments.fraction("dropout", dropout)
    local_response_normalization = arguments.boolean("local_response_normalization",
                                                     local_response_normalization)
    groups = arguments.positive_int("groups", groups)
    height, width, _ = input_shape
    stem = stem_for(min(height, width))
    if final_side(height, stem) < 1 or final_side(width, stem) < 1:
        minimum = smallest_side()
        raise arguments.fail(
            "input_shape", f"at least {minimum}x{minimum} pixels for alexnet's three 3x3 "
            "stride-2 poolings", input_shape)

    widths = [_scaled(count, width_multiplier, groups if index in GROUPED_CONVOLUTIONS else 1)
              for index, count in enumerate(filters)]
    kernels = [stem[0], 5, 3, 3, 3]
    inputs = keras.Input(shape=input_shape, name="images")
    hidden = inputs
    for index, (count, kernel) in enumerate(zip(widths, kernels, strict=True)):
        number = index + 1
        hidden = keras.layers.Conv2D(
            count, kernel, strides=stem[1] if index == 0 else 1,
            padding=stem[2] if index == 0 else "same", activation=activation,
            groups=groups if index in GROUPED_CONVOLUTIONS else 1, name=f"conv{number}",
        )(hidden)
        if local_response_normalization and number in (1, 2):
            hidden = LocalResponseNormalization(name=f"lrn{number}")(hidden)
        if number in (1, 2, 5):
            hidden = keras.layers.MaxPooling2D(POOL_SIZE, POOL_STRIDE, name=f"pool{number}")(
                hidden)
    hidden = keras.layers.Flatten(name="flatten")(hidden)
    for index, units in enumerate(dense_units):
        number = index + 6
        hidden = keras.layers.Dense(_scaled(units, width_multiplier), activation=activation,
                                    name=f"fc{number}")(hidden)
        if dropout:
            hidden = keras.layers.Dropout(dropout, name=f"dropout{number}")(hidden)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="probabilities",
                                 dtype=OUTPUT_DTYPE)(hidden)
    return keras.Model(inputs, outputs, name=arguments.model_name(name, "alexnet"))


@register_model(task="classification", input_kind="image", family="alexnet", tiny=TINY)
def alexnet_cifar(
    input_shape=(32, 32, 3),
    num_classes=10,
    width_multiplier=0.25,  # a quarter of the paper's widths trains on CIFAR-10 on a CPU
    filters=PAPER_FILTERS,
    dense_units=PAPER_DENSE_UNITS,
    activation="relu",
    dropout=0.5,
    local_response_normalization=True,
    groups=1,
    name=None,
) -> keras.Model:
    """CPU-sized alexnet: 32x32x3 images, 10 classes, a quarter of the paper's widths. The
    stem shrinks to 5x5 stride 1 for such small images (see `stem_for`)."""
    return alexnet(input_shape, num_classes, width_multiplier, filters, dense_units,
                   activation, dropout, local_response_normalization, groups,
                   name=arguments.model_name(name, "alexnet_cifar"))
