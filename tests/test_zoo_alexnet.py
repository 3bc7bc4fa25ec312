"""AlexNet: the paper's size at the paper's input, a stem that adapts to small images, and
local response normalization against the paper's formula."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import kerazoo
from kerazoo.models.alexnet import final_side, stem_for
from kerazoo.models.layers import LocalResponseNormalization

# Counted by hand from section 3.5 of the paper: conv1 34 944, conv2 614 656, conv3 885 120,
# conv4 1 327 488, conv5 884 992, fc6 37 752 832, fc7 16 781 312, fc8 4 097 000.
PAPER_PARAMETERS = 62_378_344
# With conv2, conv4 and conv5 split into two groups (the two GPUs): 307 456, 663 936, 442 624.
PAPER_PARAMETERS_GROUPED = 60_965_224


def test_alexnet_with_no_arguments_is_the_papers_network():
    model = kerazoo.build("alexnet")
    assert model.input_shape == (None, 227, 227, 3) and model.output_shape == (None, 1000)
    assert model.count_params() == PAPER_PARAMETERS
    assert model.get_layer("conv1").output.shape[1:3] == (55, 55)  # as in the paper
    assert model.get_layer("pool5").output.shape[1:] == (6, 6, 256)
    assert [layer.name for layer in model.layers
            if isinstance(layer, LocalResponseNormalization)] == ["lrn1", "lrn2"]
    assert model.get_layer("dropout6").rate == model.get_layer("dropout7").rate == 0.5


def test_the_papers_two_gpu_split_has_61_million_parameters():
    grouped = kerazoo.build("alexnet", groups=2)
    assert grouped.count_params() == PAPER_PARAMETERS_GROUPED
    assert abs(grouped.count_params() - 60e6) / 60e6 < 0.02


def test_alexnet_cifar_is_the_cpu_sized_variant_with_a_small_stem():
    model = kerazoo.build("alexnet_cifar")
    assert model.name.startswith("alexnet_cifar")
    assert model.input_shape == (None, 32, 32, 3) and model.output_shape == (None, 10)
    assert stem_for(32) == (5, 1, "same")
    assert model.get_layer("pool5").output.shape[1:3] == (3, 3)
    assert model.get_layer("conv2").filters == 64  # a quarter of the paper's 256
    assert model.count_params() < 3_000_000  # minutes per CIFAR-10 epoch on a CPU


@pytest.mark.parametrize("side", [15, 32, 63, 64, 100, 128, 224, 227, 256])
def test_every_accepted_size_keeps_a_feature_map(side):
    assert final_side(side, stem_for(side)) >= 1


def test_an_input_too_small_for_three_poolings_is_refused_with_the_minimum():
    with pytest.raises(kerazoo.KerazooError, match=r"at least 15x15.*input_shape=\(8, 8, 3\)"):
        kerazoo.build("alexnet_cifar", input_shape=(8, 8, 3))


def test_width_multiplier_scales_convolutions_and_dense_layers():
    model = kerazoo.build("alexnet_cifar", width_multiplier=0.5)
    assert model.get_layer("conv2").filters == 128
    assert model.get_layer("fc6").units == 2048


def test_filters_and_dense_units_need_their_layer_counts():
    with pytest.raises(kerazoo.KerazooError, match="5 positive integers"):
        kerazoo.build("alexnet_cifar", filters=[8, 8])
    with pytest.raises(kerazoo.KerazooError, match="2 positive integers"):
        kerazoo.build("alexnet_cifar", dense_units=[8])


def test_local_response_normalization_follows_the_papers_formula():
    rng = np.random.default_rng(0)
    activations = rng.random((2, 3, 3, 7)).astype("float32") * 10
    k, n, alpha, beta = 2.0, 5, 1e-4, 0.75
    expected = np.empty_like(activations)
    channels = activations.shape[-1]
    for i in range(channels):  # b_i = a_i / (k + alpha * sum_{j=i-n/2}^{i+n/2} a_j^2) ^ beta
        low, high = max(0, i - n // 2), min(channels - 1, i + n // 2)
        total = np.square(activations[..., low:high + 1]).sum(axis=-1)
        expected[..., i] = activations[..., i] / (k + alpha * total) ** beta
    layer = LocalResponseNormalization()
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(activations)), expected,
                               rtol=1e-5)
    assert LocalResponseNormalization.from_config(layer.get_config()).get_config() == \
        layer.get_config()
