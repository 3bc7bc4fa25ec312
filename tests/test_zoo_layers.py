"""The zoo's custom layers: corruption acts only in training and has the requested level;
RepeatAlongSteps follows the sequence's length and mask."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import kerazoo
from kerazoo.models.layers import Corruption, RepeatAlongSteps


def test_corruption_is_the_identity_outside_training():
    x = np.random.default_rng(0).random((4, 10)).astype("float32")
    for noise in ("gaussian", "masking"):
        layer = Corruption(noise, 0.5, seed=1)
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(x)), x)
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(x, training=False)), x)


def test_gaussian_corruption_adds_noise_of_the_requested_standard_deviation():
    x = np.ones((200, 100), dtype="float32")
    noisy = keras.ops.convert_to_numpy(Corruption("gaussian", 0.3, seed=1)(x, training=True))
    assert abs((noisy - x).std() - 0.3) < 0.01
    assert abs((noisy - x).mean()) < 0.01


def test_masking_corruption_zeroes_the_requested_fraction_and_keeps_the_rest_as_is():
    x = np.full((200, 100), 2.0, dtype="float32")
    noisy = keras.ops.convert_to_numpy(Corruption("masking", 0.25, seed=1)(x, training=True))
    assert set(np.unique(noisy)) <= {0.0, 2.0}  # unlike Dropout, survivors are not rescaled
    assert abs((noisy == 0).mean() - 0.25) < 0.01


def test_corruption_draws_new_noise_at_every_call():
    layer = Corruption("gaussian", 1.0, seed=1)
    x = np.zeros((2, 8), dtype="float32")
    first = keras.ops.convert_to_numpy(layer(x, training=True))
    second = keras.ops.convert_to_numpy(layer(x, training=True))
    assert not np.array_equal(first, second)


def test_corruption_is_active_while_an_autoencoder_trains_and_off_when_it_predicts():
    keras.utils.set_random_seed(0)
    model = kerazoo.build("denoising_autoencoder", input_shape=(6,), units=[4],
                          noise="masking", noise_level=0.5)
    x = np.random.default_rng(0).random((8, 6)).astype("float32")
    noisy_output = keras.ops.convert_to_numpy(model(x, training=True))
    clean_output = keras.ops.convert_to_numpy(model(x, training=False))
    assert not np.allclose(noisy_output, clean_output)
    np.testing.assert_allclose(model.predict(x, verbose=0), clean_output, rtol=1e-5)


def test_corruption_checks_its_arguments():
    with pytest.raises(kerazoo.KerazooError, match=r"Received: noise='salt'"):
        Corruption("salt")
    with pytest.raises(kerazoo.KerazooError, match=r"\[0, 1\).*Received: noise_level=1.5"):
        Corruption("masking", 1.5)
    config = Corruption("masking", 0.2, seed=3).get_config()
    assert (config["noise"], config["noise_level"], config["seed"]) == ("masking", 0.2, 3)


def test_repeat_along_steps_follows_the_length_and_mask_known_only_at_call_time():
    ids = keras.Input(shape=(None,), dtype="int32")
    vector = keras.Input(shape=(3,))
    embedded = keras.layers.Embedding(5, 2, mask_zero=True)(ids)
    repeated = RepeatAlongSteps()([vector, embedded])
    model = keras.Model([vector, ids], repeated)
    values = np.arange(6, dtype="float32").reshape(2, 3)
    out = keras.ops.convert_to_numpy(model((values, np.array([[1, 2, 0, 0, 0]] * 2, "int32"))))
    assert out.shape == (2, 5, 3)
    np.testing.assert_array_equal(out[:, 4], values)
    layer = model.layers[-1]
    mask = layer.compute_mask([values, None], [None, np.array([[True, False]])])
    np.testing.assert_array_equal(mask, [[True, False]])
