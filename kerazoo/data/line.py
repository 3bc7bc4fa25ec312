"""Points scattered about a straight line, y = m x + c + noise: the first regression of any
course, where the learned slope and intercept can be read off the model and set beside the
true ones kept in `extras`."""

from __future__ import annotations

import numpy as np

from kerazoo import arguments
from kerazoo.data import checks
from kerazoo.data.splits import DataSplits, split_three_ways
from kerazoo.registry import register_data

# x is drawn uniformly from [-X_RANGE, X_RANGE]: centred, so the slope and intercept are
# learned about equally fast and plain SGD needs no feature scaling.
X_RANGE = 2.0


@register_data
def line(seed=0, slope=3.0, intercept=2.0, noise=0.5, samples=500, validation_fraction=0.15,
         test_fraction=0.15) -> DataSplits:
    """`samples` float32 pairs: x (shape (1,)) and y = slope·x + intercept + Gaussian noise of
    standard deviation `noise` (shape (1,)). `extras` holds the true slope and intercept."""
    seed = checks.seed(seed)
    slope = _finite("slope", slope)
    intercept = _finite("intercept", intercept)
    noise = arguments.non_negative("noise", noise)
    samples = arguments.int_at_least("samples", samples, 10)
    validation_fraction, test_fraction = checks.split_fractions(validation_fraction,
                                                                test_fraction)
    generator = np.random.default_rng(seed)
    x = generator.uniform(-X_RANGE, X_RANGE, (samples, 1))
    y = slope * x + intercept + generator.normal(0.0, noise, (samples, 1))
    train, validation, test = split_three_ways(x.astype(np.float32), y.astype(np.float32),
                                               seed, validation_fraction, test_fraction,
                                               stratify=False)
    return DataSplits(
        name="line",
        source=f"kerazoo line generator (y = {slope:g} x + {intercept:g}, noise {noise:g}, "
               f"{samples} points, seed {seed})",
        train=train, validation=validation, test=test,
        model_hints={"input_shape": (1,)},
        extras={"slope": slope, "intercept": intercept, "noise": noise,
                "x_range": (-X_RANGE, X_RANGE)},
    )


def _finite(argument: str, value) -> float:
    if not arguments.is_number(value):
        raise arguments.fail(argument, "a finite number", value)
    return float(value)
