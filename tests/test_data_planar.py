"""The course's generated data: two-class shapes in the plane and points about a line."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.neighbors import KNeighborsClassifier

from kerazoo.data import load_data
from kerazoo.errors import KerazooError


@pytest.mark.parametrize("shape", ["moons", "circles", "spirals"])
def test_planar_shapes_are_two_balanced_classes_no_line_separates(shape):
    data = load_data("planar", shape=shape, samples=400, noise=0.05)
    assert data.model_hints == {"input_shape": (2,), "num_classes": 2}
    assert data.extras["shape"] == shape
    x_min, x_max, y_min, y_max = data.extras["extent"]
    points = np.concatenate([data.train.x, data.validation.x, data.test.x])
    labels = np.concatenate([data.train.y, data.validation.y, data.test.y])
    assert points.dtype == np.float32 and points.shape == (400, 2)
    assert np.abs(points).max() == pytest.approx(1.0)
    assert x_min < points[:, 0].min() and points[:, 0].max() < x_max
    assert y_min < points[:, 1].min() and points[:, 1].max() < y_max
    assert np.bincount(labels).tolist() == [200, 200]
    line = LogisticRegression().fit(data.train.x, data.train.y).score(data.test.x, data.test.y)
    nearest = KNeighborsClassifier(5).fit(data.train.x, data.train.y).score(data.test.x,
                                                                           data.test.y)
    assert line < 0.93 and nearest > 0.95  # curved, but learnable (moons: a line gets ~88 %)


def test_bad_shape_suggests_the_close_one():
    with pytest.raises(KerazooError, match=r"^`shape` must be one of 'moons', 'circles', "
                                           r"'spirals' \(did you mean 'spirals'\?\). "
                                           r"Received: shape='spiral'$"):
        load_data("planar", shape="spiral")


def test_line_keeps_the_true_slope_and_intercept():
    data = load_data("line", slope=-1.5, intercept=0.5, noise=0.1, samples=300)
    assert data.extras["slope"] == -1.5 and data.extras["intercept"] == 0.5
    assert data.model_hints == {"input_shape": (1,)}
    assert data.train.x.shape[1:] == (1,) and data.train.y.shape[1:] == (1,)
    fit = LinearRegression().fit(data.train.x, data.train.y)
    assert fit.coef_[0, 0] == pytest.approx(-1.5, abs=0.05)
    assert fit.intercept_[0] == pytest.approx(0.5, abs=0.05)
    with pytest.raises(KerazooError, match=r"Received: slope=nan$"):
        load_data("line", slope=float("nan"))
