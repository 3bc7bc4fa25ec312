"""Anomaly detection with a denoising autoencoder trained on normal data only."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import kerazoo
from kerazoo.anomaly import flag_anomalies, percentile_threshold, reconstruction_errors


def normal_samples(rng, count, patterns):
    """Points on a segment between two patterns: a one-dimensional 'normal' behaviour."""
    mix = rng.random((count, 1))
    return (mix * patterns[0] + (1 - mix) * patterns[1]).astype("float32")


def test_samples_unlike_the_training_data_score_above_the_threshold():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    patterns = rng.random((2, 16))
    train = normal_samples(rng, 512, patterns)
    model = kerazoo.build("denoising_autoencoder", input_shape=(16,), units=[16, 2],
                          noise_level=0.05)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mean_squared_error")
    model.fit(train, train, batch_size=64, epochs=40, verbose=0)

    threshold = percentile_threshold(reconstruction_errors(model, train), percentile=99)
    normal = normal_samples(rng, 200, patterns)
    anomalies = rng.random((200, 16)).astype("float32")
    false_alarms = flag_anomalies(reconstruction_errors(model, normal), threshold).mean()
    detected = flag_anomalies(reconstruction_errors(model, anomalies), threshold).mean()
    assert false_alarms < 0.05
    assert detected > 0.95


def test_reconstruction_errors_are_per_sample_mean_squared_errors():
    identity = keras.Sequential([keras.Input((2, 3)), keras.layers.Rescaling(0.5)])
    x = np.arange(12, dtype="float32").reshape(2, 2, 3)
    np.testing.assert_allclose(reconstruction_errors(identity, x),
                               np.square(x * 0.5).reshape(2, -1).mean(axis=1))


def test_the_threshold_is_a_percentile_of_the_training_errors():
    errors = np.arange(101, dtype="float64")
    assert percentile_threshold(errors, 90) == 90.0
    np.testing.assert_array_equal(flag_anomalies(np.array([89.0, 90.0, 91.0]), 90.0),
                                  [False, False, True])


def test_bad_arguments_are_named():
    with pytest.raises(kerazoo.KerazooError, match=r"\[0, 100\]. Received: percentile=101"):
        percentile_threshold([1.0, 2.0], 101)
    with pytest.raises(kerazoo.KerazooError, match=r"`training_errors`"):
        percentile_threshold([], 99)
    classifier = kerazoo.build("logistic_regression", input_shape=(4,), num_classes=2)
    with pytest.raises(kerazoo.KerazooError, match=r"input's shape"):
        reconstruction_errors(classifier, np.zeros((3, 4), dtype="float32"))
