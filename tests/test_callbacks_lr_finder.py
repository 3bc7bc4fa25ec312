"""The LR range test: it changes nothing, stops when the loss diverges, and suggests a rate
where the loss of a real model falls."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from kerazoo.callbacks import LRFinder, find_learning_rate
from kerazoo.data import load_data
from kerazoo.errors import KerazooError
from kerazoo.registry import build


@pytest.fixture(scope="module")
def digits():
    return load_data("digits", seed=0)


def digits_mlp(optimizer) -> keras.Model:
    keras.utils.set_random_seed(0)
    model = build("mlp", units=[64])
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    return model


def numpy_state(variables):
    return [keras.ops.convert_to_numpy(variable).copy() for variable in variables]


def test_finder_restores_weights_and_optimizer_state(digits, tmp_path):
    model = digits_mlp(keras.optimizers.Adam(1e-3))
    model.fit(digits.train.x, digits.train.y, epochs=1, verbose=0)  # some optimizer state
    weights, slots = numpy_state(model.variables), numpy_state(model.optimizer.variables)
    result = find_learning_rate(model, digits.train.x, digits.train.y, num_steps=60,
                                plot_path=tmp_path / "finder.png")
    for before, after in zip(weights, numpy_state(model.variables), strict=True):
        np.testing.assert_array_equal(before, after)
    for before, after in zip(slots, numpy_state(model.optimizer.variables), strict=True):
        np.testing.assert_array_equal(before, after)
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == \
        pytest.approx(1e-3)
    assert (tmp_path / "finder.png").stat().st_size > 5000
    # the sweep is exponential from min_lr
    rates = np.asarray(result.learning_rates)
    assert rates[0] == pytest.approx(1e-7)
    np.testing.assert_allclose(rates[1:] / rates[:-1], (10.0 / 1e-7) ** (1 / 59), rtol=1e-9)


def test_finder_suggests_where_the_loss_falls_and_stops_on_divergence(digits):
    model = digits_mlp(keras.optimizers.Adam(1e-3))
    result = find_learning_rate(model, digits.train.x, digits.train.y, num_steps=100)
    # Adam on this MLP learns between about 1e-4 and 1e-1, and diverges by max_lr = 10
    assert result.diverged and len(result.learning_rates) < 100
    assert 1e-4 < result.steepest < 1e-1
    assert 1e-4 < result.minimum_over_10 < 1e-1
    assert result.suggestion == result.steepest
    lowest = int(np.argmin(result.smoothed_losses))
    assert result.steepest <= result.learning_rates[lowest]
    assert result.smoothed_losses[lowest] < 0.9 * result.smoothed_losses[0]


def test_finder_argument_errors():
    with pytest.raises(KerazooError, match="`max_lr` must be a number greater than min_lr"):
        LRFinder(min_lr=1e-3, max_lr=1e-4)
    with pytest.raises(KerazooError, match="`num_steps` must be at least 2"):
        LRFinder(num_steps=1)
