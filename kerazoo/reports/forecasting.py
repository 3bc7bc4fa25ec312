"""Forecasters: errors in the series' own units against two naive forecasts, and plots of
a few test forecasts and of the error at each step ahead.

The baselines need nothing but the input window: the last value repeated over the horizon
(what a forecast must beat to be worth anything) and, when the data says how many steps
make a season (`extras["steps_per_day"]`), the seasonal-naive forecast: the value one season
before each future step. On a series with a strong daily cycle the second is the harder one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kerazoo import plots
from kerazoo.reports.context import ReportContext, ReportOutput

NAME = "forecasts"
TASK = "regression"
EXAMPLES = 3  # test windows plotted, spread over the test period
HISTORY_SHOWN = 72  # steps of each window drawn before its forecast


def applies(context: ReportContext) -> bool:
    test = context.data.test
    return (context.task == TASK and "last_value" in test.info
            and not isinstance(test.x, tuple) and test.x.ndim == 3 and test.y.ndim == 2)


def seasonal_naive(x: np.ndarray, feature: int, horizon: int, season: int) -> np.ndarray | None:
    """For each future step, the value a whole number of seasons earlier (the latest such
    value the window holds); None when the window is shorter than the lags needed."""
    window = x.shape[1]
    lags = season * -(-np.arange(1, horizon + 1) // season)  # the smallest multiple >= step
    positions = window + np.arange(horizon) - lags
    if positions.min() < 0:
        return None
    return x[:, positions, feature]


def write(context: ReportContext, directory: Path) -> ReportOutput:
    extras, test = context.data.extras, context.data.test
    feature = int(extras.get("target_feature", 0))
    # Targets and inputs are standardized; errors are reported in the series' units.
    mean, std = float(extras.get("mean", 0.0)), float(extras.get("std", 1.0))
    unit = "series units" if "std" in extras else "target units"

    def series(values):
        return np.asarray(values, dtype=np.float64) * std + mean

    truth = series(test.y)
    horizon = truth.shape[1]
    forecasts = {"model": series(context.test_predictions().reshape(truth.shape)),
                 "last value": np.repeat(series(test.info["last_value"])[:, None], horizon,
                                         axis=1)}
    season = extras.get("steps_per_day")
    if season:
        values = seasonal_naive(np.asarray(test.x), feature, horizon, int(season))
        if values is not None:
            forecasts["one day earlier"] = series(values)
    errors = {name: np.abs(values - truth) for name, values in forecasts.items()}

    context.painter.draw(directory / "error_by_step.png", plots.error_by_step,
                         {name: error.mean(axis=0) for name, error in errors.items()}, unit)
    rows = np.linspace(0, len(truth) - 1, EXAMPLES).round().astype(int)
    times = test.info.get("time")
    examples = [{"start": int(times[row]) if times is not None else HISTORY_SHOWN,
                 "history": series(test.x[row, -HISTORY_SHOWN:, feature]),
                 "truth": truth[row], **{name: values[row]
                                         for name, values in forecasts.items()}}
                for row in rows]
    context.painter.draw(directory / "forecasts.png", plots.forecasts, examples, unit)

    maes = {name: float(error.mean()) for name, error in errors.items()}
    metrics = {"forecast_mae": maes["model"], "last_value_mae": maes["last value"],
               "mae_vs_last_value": maes["model"] / maes["last value"]}
    if "one day earlier" in maes:
        metrics["seasonal_naive_mae"] = maes["one day earlier"]
        metrics["mae_vs_seasonal_naive"] = maes["model"] / maes["one day earlier"]
    return ReportOutput(metrics=metrics)
