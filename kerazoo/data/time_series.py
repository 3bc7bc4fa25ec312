"""A seeded hourly time series for forecasting, cut into (window -> horizon) samples.

No package kerazoo depends on ships a real series suited to this (matplotlib's sample data
holds stock prices, a random walk where the last value is already the best forecast), so the
series is generated: a slow trend, a daily cycle with a second harmonic, a weekday/weekend
cycle, and autocorrelated noise, with amplitudes and phases drawn from the seed. It looks
like an hourly demand curve, and the naive last-value forecast is clearly beatable by a
model that learns the cycles, yet not trivially: the AR(1) noise cannot be predicted far.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

from kerazoo import arguments
from kerazoo.data import blocks, checks
from kerazoo.data.splits import DataSplits, Split
from kerazoo.registry import register_data

STEPS_PER_DAY = 24
STEPS_PER_WEEK = 7 * STEPS_PER_DAY
SPLITS = ("chronological", "blocks")
CALENDAR_FEATURES = ["hour_sin", "hour_cos", "weekday_sin", "weekday_cos"]


def generate(generator: np.random.Generator, length: int, noise: float) -> np.ndarray:
    """One float64 series of `length` hourly steps, in demand-like units around 100."""
    time = np.arange(length, dtype=np.float64)
    day = 2 * np.pi * time / STEPS_PER_DAY
    week = 2 * np.pi * time / STEPS_PER_WEEK
    trend = generator.uniform(-10, 10) * time / length
    daily = (generator.uniform(12, 20) * np.sin(day + generator.uniform(0, 2 * np.pi))
             + generator.uniform(3, 6) * np.sin(2 * day + generator.uniform(0, 2 * np.pi)))
    weekly = generator.uniform(5, 10) * np.sin(week + generator.uniform(0, 2 * np.pi))
    # AR(1) noise, x_t = 0.8 x_{t-1} + e_t: tomorrow's level wanders, so a forecast has to
    # start from the latest values rather than replay the average cycle.
    shocks = generator.normal(0.0, noise, length)
    wander = signal.lfilter([1.0], [1.0, -0.8], shocks)
    return 100 + trend + daily + weekly + wander


def calendar(length: int) -> np.ndarray:
    """Hour of day and day of week as points on circles: known in advance for any step."""
    time = np.arange(length, dtype=np.float64)
    day = 2 * np.pi * (time % STEPS_PER_DAY) / STEPS_PER_DAY
    week = 2 * np.pi * (time % STEPS_PER_WEEK) / STEPS_PER_WEEK
    return np.stack([np.sin(day), np.cos(day), np.sin(week), np.cos(week)], axis=1)


@register_data
def seasonal_series(seed=0, length=20000, window=72, horizon=12, stride=1,
                    calendar_features=True, noise=2.0, split="chronological",
                    block_windows=168, validation_fraction=0.15,
                    test_fraction=0.15) -> DataSplits:
    """Samples of `window` steps × features -> the next `horizon` values of the series.

    Features: the series (standardized with the training part's mean and std) and, when
    `calendar_features`, hour-of-day and day-of-week sines and cosines. `split`:
    "chronological" (train on the past, test on the most recent part) or "blocks" (contiguous
    blocks of `block_windows` windows, assigned to splits from the seed).
    """
    seed = checks.seed(seed)
    window = arguments.positive_int("window", window)
    horizon = arguments.positive_int("horizon", horizon)
    stride = arguments.positive_int("stride", stride)
    length = arguments.int_at_least("length", length, 10 * (window + horizon))
    calendar_features = arguments.boolean("calendar_features", calendar_features)
    noise = arguments.non_negative("noise", noise)
    split = arguments.one_of("split", split, SPLITS)
    block_windows = arguments.positive_int("block_windows", block_windows)
    validation_fraction, test_fraction = checks.split_fractions(validation_fraction,
                                                                test_fraction)
    values = generate(np.random.default_rng(seed), length, noise)
    span = window + horizon
    if split == "chronological":
        starts = blocks.chronological_split(length, span, stride, validation_fraction,
                                            test_fraction)
    else:
        starts = blocks.block_split(length, span, stride, block_windows, seed,
                                    validation_fraction, test_fraction, what="series")
    # Statistics of the training windows only: the model must not learn the test level.
    seen = np.zeros(length, bool)
    seen[(starts[0][:, None] + np.arange(span)).ravel()] = True
    mean, std = float(values[seen].mean()), float(values[seen].std())
    standardized = (values - mean) / std
    features = standardized[:, None]
    if calendar_features:
        features = np.concatenate([features, calendar(length)], axis=1)
    features = features.astype(np.float32)

    splits = []
    for part in starts:
        windows = blocks.gather_windows(features, part, span)
        x, future = windows[:, :window], windows[:, window:, 0]
        splits.append(Split(np.ascontiguousarray(x), np.ascontiguousarray(future),
                            {"last_value": x[:, -1, 0].copy(),
                             "time": (part + window).astype(np.int64)}))
    train, validation, test = splits
    return DataSplits(
        name="seasonal_series",
        source=f"kerazoo seasonal series generator ({length} hourly steps, seed {seed})",
        train=train, validation=validation, test=test,
        model_hints={"input_shape": (window, features.shape[1]), "horizon": horizon},
        extras={"feature_names": ["value", *(CALENDAR_FEATURES if calendar_features else [])],
                "target_feature": 0, "mean": mean, "std": std,
                "steps_per_day": STEPS_PER_DAY, "split": split},
    )
