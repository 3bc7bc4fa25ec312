"""scikit-learn's bundled handwritten digits: 1 797 8×8 images, no network needed."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_digits

from kerazoo.data.splits import DataSplits, split_three_ways
from kerazoo.models import arguments
from kerazoo.registry import register_data


@register_data
def digits(seed=0, validation_fraction=0.15, test_fraction=0.15, image=False) -> DataSplits:
    """Pixels scaled to [0, 1]; flat 64-vectors, or 8×8×1 images when `image` is true."""
    validation_fraction = arguments.fraction("validation_fraction", validation_fraction)
    test_fraction = arguments.fraction("test_fraction", test_fraction)
    bunch = load_digits()
    x = (bunch.data / 16.0).astype(np.float32)  # raw pixels are 0..16
    if image:
        x = x.reshape(-1, 8, 8, 1)
    y = bunch.target.astype(np.int32)
    train, validation, test = split_three_ways(x, y, seed, validation_fraction, test_fraction)
    return DataSplits(
        name="digits",
        source="sklearn.datasets.load_digits (bundled with scikit-learn)",
        train=train, validation=validation, test=test,
        model_hints={"input_shape": x.shape[1:], "num_classes": 10},
        extras={"class_names": [str(digit) for digit in range(10)]},
    )
