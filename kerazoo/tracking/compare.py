"""`kerazoo compare`: runs side by side, and one metric's history overlaid across runs."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from kerazoo.errors import KerazooError, did_you_mean
from kerazoo.tracking import runs as tracking

# Metrics where smaller is better sort ascending by default.
SMALLER_IS_BETTER = ("loss", "error", "mae", "mse", "bits", "perplexity")


def smaller_is_better(metric: str) -> bool:
    return any(word in metric for word in SMALLER_IS_BETTER)


def _check_experiments(experiments: list[str]) -> None:
    known = tracking.experiment_names()
    for name in experiments:
        if name not in known:
            raise KerazooError(f"--experiment: unknown experiment {name!r}"
                               f"{did_you_mean(name, known)}; accepted: {', '.join(known)}")


def runs_table(experiments: list[str] | None = None, sort: str | None = None,
               filter_string: str = "", max_results: int = 50) -> pd.DataFrame:
    """Recipe, status, duration, the params that differ between the runs, final metrics."""
    if experiments:
        _check_experiments(experiments)
    runs = tracking.search_runs(experiments, filter_string, max_results)
    if runs.empty:
        return pd.DataFrame()
    table = pd.DataFrame({
        "run": runs["run_id"].str[:8],
        "recipe": runs.get("tags.kerazoo.recipe", runs.get("tags.mlflow.runName")),
        "status": runs["status"],
        "seconds": (runs["end_time"] - runs["start_time"]).dt.total_seconds().round(1),
    })
    params = runs[[c for c in runs.columns if c.startswith("params.")]]
    differing = [c for c in params.columns if params[c].astype(str).nunique(dropna=False) > 1]
    for column in differing:
        table[column.removeprefix("params.")] = params[column]
    metric_columns = sorted((c for c in runs.columns if c.startswith("metrics.")),
                            key=lambda c: (not c.startswith("metrics.test_"), c))
    for column in metric_columns:
        # four significant digits, not decimals: a final learning rate of 4e-8 is not 0
        table[column.removeprefix("metrics.")] = runs[column].map(
            lambda value: float(f"{value:.4g}"), na_action="ignore")
    if sort:
        name, _, order = sort.partition(":")
        if name not in table.columns:
            raise KerazooError(f"--sort: no column {name!r} among these runs"
                               f"{did_you_mean(name, table.columns)}; accepted: "
                               f"{', '.join(map(str, table.columns))}")
        if order not in ("", "asc", "desc"):
            raise KerazooError(f"--sort: order must be 'asc' or 'desc'. Received: {sort!r}")
        ascending = order == "asc" if order else smaller_is_better(name)
        table = table.sort_values(name, ascending=ascending, na_position="last")
    return table.reset_index(drop=True)


def plot_metric(metric: str, experiments: list[str] | None = None, filter_string: str = "",
                max_results: int = 20, output: Path | None = None) -> Path:
    """One PNG overlaying `metric`'s history (by epoch) across the selected runs."""
    from kerazoo import plots

    if experiments:
        _check_experiments(experiments)
    runs = tracking.search_runs(experiments, filter_string, max_results)
    column = f"metrics.{metric}"
    if runs.empty or column not in runs.columns or runs[column].isna().all():
        known = sorted(c.removeprefix("metrics.") for c in runs.columns
                       if c.startswith("metrics."))
        raise KerazooError(f"--plot: no selected run logged metric {metric!r}"
                           f"{did_you_mean(metric, known)}; accepted: {', '.join(known)}")
    runs = runs[runs[column].notna()]
    figure, axis = plots.plt.subplots(figsize=(7, 4.5))
    for _, run in runs.iterrows():
        history = tracking.metric_history(run["run_id"], metric)
        label = f"{run.get('tags.kerazoo.recipe') or run.get('tags.mlflow.runName')} " \
                f"({run['run_id'][:8]})"
        axis.plot([step for step, _ in history], [value for _, value in history],
                  marker="." if len(history) < 30 else "", label=label)
    axis.set_xlabel("epoch")
    axis.set_ylabel(metric)
    axis.grid(alpha=0.3)
    axis.legend(fontsize="small")
    figure.tight_layout()
    # MLflow allows '/' in metric names; the default file stays in the working folder.
    output = output or Path(f"compare_{re.sub(r'[^A-Za-z0-9._-]', '_', metric)[:100]}.png")
    plots.save(figure, output)
    return output
