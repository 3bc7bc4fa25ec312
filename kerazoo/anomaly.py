"""Unsupervised anomaly detection with an autoencoder: a sample the model reconstructs much
worse than it reconstructed its training data is unlike that data.

    errors = reconstruction_errors(autoencoder, x_train)
    threshold = percentile_threshold(errors, percentile=99)   # ~1 % false alarms on normal data
    flags = flag_anomalies(reconstruction_errors(autoencoder, x_new), threshold)

The threshold comes from training scores only, so no labelled anomalies are needed.
"""

from __future__ import annotations

import keras
import numpy as np

from kerazoo import arguments


def reconstruction_errors(model: keras.Model, x: np.ndarray, batch_size: int = 256,
                          reconstructions: np.ndarray | None = None) -> np.ndarray:
    """Mean squared error between each sample and its reconstruction: shape (samples,).

    `model.predict` runs in inference mode, so a denoising autoencoder's corruption is off
    and the score measures reconstruction, not noise. `reconstructions`: the model's
    outputs on `x` when they have been predicted already.
    """
    batch_size = arguments.positive_int("batch_size", batch_size)
    x = np.asarray(x, dtype="float32")
    if reconstructions is None:
        reconstructions = model.predict(x, batch_size=batch_size, verbose=0)
    reconstructions = np.asarray(reconstructions)
    if reconstructions.shape != x.shape:
        raise arguments.fail("model", f"an autoencoder whose output has the input's shape "
                             f"{x.shape[1:]}, not {reconstructions.shape[1:]}", model.name)
    return np.square(x - reconstructions).reshape(len(x), -1).mean(axis=1)


def percentile_threshold(training_errors: np.ndarray, percentile: float = 99.0) -> float:
    """The error below which `percentile` % of the training samples fall."""
    if isinstance(percentile, bool) or not isinstance(percentile, int | float) or not (
            0 <= percentile <= 100):
        raise arguments.fail("percentile", "a number in [0, 100]", percentile)
    errors = np.asarray(training_errors, dtype="float64")
    if errors.ndim != 1 or errors.size == 0 or not np.isfinite(errors).all():
        raise arguments.fail("training_errors", "a non-empty 1-D array of finite errors",
                             training_errors)
    return float(np.percentile(errors, percentile))


def flag_anomalies(errors: np.ndarray, threshold: float) -> np.ndarray:
    """True where a sample's error is above the threshold."""
    return np.asarray(errors) > threshold
