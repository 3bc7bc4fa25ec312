"""Gradient noise and weight averaging, measured on real fits."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from kerazoo import schedules
from kerazoo.callbacks import SWA, GradientNoise, GradientNoiseOptimizer
from kerazoo.errors import KerazooError
from tests.callback_helpers import EpochRecorder, zero_loss

WEIGHTS = 4000


def noise_only_model(optimizer) -> keras.Model:
    """4 000 weights from 0, zero data loss, SGD with rate 1: each weight ends as minus the
    sum of the noise drawn for it, whose variance is the sum of the per-step variances."""
    inputs = keras.Input(shape=(1,))
    outputs = keras.layers.Dense(WEIGHTS, use_bias=False, kernel_initializer="zeros")(inputs)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=optimizer, loss=zero_loss)
    return model


def fit_noise(model, callbacks, epochs=2):
    recorder = EpochRecorder()
    model.fit(np.ones((8, 1)), np.zeros((8, WEIGHTS)), batch_size=2, epochs=epochs,
              verbose=0, callbacks=[*callbacks, recorder])
    return recorder


def test_noise_variance_anneals_as_in_the_paper():
    model = noise_only_model(keras.optimizers.SGD(1.0))
    recorder = fit_noise(model, [GradientNoise(eta=0.3, seed=1)])
    steps = 8
    expected = sum(schedules.gradient_noise_variance(step, 0.3) for step in range(steps))
    weights = keras.ops.convert_to_numpy(model.trainable_variables[0]).ravel()
    assert np.var(weights) == pytest.approx(expected, rel=0.1)  # 4 000 draws: ~2% error
    assert abs(np.mean(weights)) < 0.1
    assert recorder.logs[-1]["gradient_noise_variance"] == pytest.approx(
        schedules.gradient_noise_variance(steps - 1, 0.3))
    # the model has its own optimizer back afterwards, and saves as usual
    assert type(model.optimizer) is keras.optimizers.SGD


def test_noise_is_reproducible_with_a_seed():
    first = noise_only_model(keras.optimizers.SGD(1.0))
    second = noise_only_model(keras.optimizers.SGD(1.0))
    fit_noise(first, [GradientNoise(eta=0.01, seed=5)], epochs=1)
    fit_noise(second, [GradientNoise(eta=0.01, seed=5)], epochs=1)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(first.trainable_variables[0]),
                                  keras.ops.convert_to_numpy(second.trainable_variables[0]))


def test_noise_optimizer_compiled_directly_saves_and_loads(tmp_path):
    optimizer = GradientNoiseOptimizer(keras.optimizers.Adam(1e-3), eta=0.01, seed=2)
    inputs = keras.Input(shape=(3,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    model.compile(optimizer=optimizer, loss="mse")
    model.fit(np.ones((8, 3)), np.ones((8, 2)), epochs=1, verbose=0)
    model.save(tmp_path / "noisy.keras")
    loaded = keras.models.load_model(tmp_path / "noisy.keras")
    assert isinstance(loaded.optimizer, GradientNoiseOptimizer)
    assert loaded.optimizer.get_config()["eta"] == 0.01
    assert isinstance(loaded.optimizer.inner_optimizer, keras.optimizers.Adam)
    loaded.fit(np.ones((8, 3)), np.ones((8, 2)), epochs=1, verbose=0)


def test_bad_noise_arguments():
    with pytest.raises(KerazooError, match="`eta` must be a positive number"):
        GradientNoise(eta=0)


def small_classifier(batch_normalization: bool) -> keras.Model:
    inputs = keras.Input(shape=(6,))
    hidden = keras.layers.Dense(8, name="dense")(inputs)
    if batch_normalization:
        hidden = keras.layers.BatchNormalization(name="batch_norm")(hidden)
    hidden = keras.layers.Activation("relu")(hidden)
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(hidden))
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    return model


def classification_data(samples: int = 64):
    generator = np.random.default_rng(0)
    x = generator.normal(size=(samples, 6)).astype("float32")
    return x, (x[:, 0] > 0).astype("int32") + (x[:, 1] > 1).astype("int32")


def test_swa_puts_the_average_of_the_chosen_epochs_in():
    model = small_classifier(batch_normalization=False)
    x, y = classification_data()
    recorder = EpochRecorder()
    model.fit(x, y, batch_size=16, epochs=5, verbose=0,
              callbacks=[SWA(start_epoch=3), recorder])
    for index, weight in enumerate(model.trainable_variables):
        expected = np.mean([epoch[index] for epoch in recorder.weights[2:]], axis=0)
        np.testing.assert_allclose(keras.ops.convert_to_numpy(weight), expected, rtol=1e-5,
                                   atol=1e-6)
    assert [logs["swa_averaged"] for logs in recorder.logs] == [0, 0, 1, 2, 3]


def test_swa_reestimates_batch_norm_statistics():
    model = small_classifier(batch_normalization=True)
    x, y = classification_data()
    model.fit(x, y, batch_size=16, epochs=4, verbose=0,
              callbacks=[SWA(start_epoch=2, batch_norm_data=x, batch_size=16)])
    # the statistics of the BN input under the averaged weights, batch by batch, averaged
    below = keras.ops.convert_to_numpy(model.get_layer("dense")(x))
    batches = [below[start:start + 16] for start in range(0, len(x), 16)]
    layer = model.get_layer("batch_norm")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer.moving_mean),
                               np.mean([batch.mean(axis=0) for batch in batches], axis=0),
                               rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer.moving_variance),
                               np.mean([batch.var(axis=0) for batch in batches], axis=0),
                               rtol=1e-4, atol=1e-5)
    assert layer.momentum == pytest.approx(0.99)  # the layer's own momentum is back


def test_swa_on_batch_norm_without_data_is_a_clear_error():
    model = small_classifier(batch_normalization=True)
    x, y = classification_data()
    with pytest.raises(KerazooError, match="batch normalization.*batch_norm_data"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[SWA()])
