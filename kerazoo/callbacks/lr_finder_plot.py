"""The range test's curve as a figure: loss against learning rate, suggestions marked.

It takes the callback's result (kerazoo.callbacks.lr_finder.LRFinderResult) without importing
its module, which imports this one to save the figure: dependencies run one way."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kerazoo import plots  # chooses the headless backend before pyplot is imported


def figure(result):
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6.5, 4))
    axis.plot(result.learning_rates, result.losses, alpha=0.3, label="loss per batch")
    axis.plot(result.learning_rates, result.smoothed_losses, label="smoothed loss")
    steepest = result.steepest
    if steepest is not None:
        axis.axvline(steepest, color="tab:green", linestyle="--",
                     label=f"steepest descent {steepest:.2g}")
    axis.axvline(result.minimum_over_10, color="tab:red", linestyle=":",
                 label=f"minimum / 10 {result.minimum_over_10:.2g}")
    # Past divergence the loss dwarfs the part of the curve worth reading: show from the
    # lowest loss up to a little above where the sweep started.
    lowest = int(np.argmin(result.smoothed_losses))
    low = min(min(result.losses[:lowest + 1]), result.smoothed_losses[lowest])
    start = result.smoothed_losses[0]
    if start > low:
        axis.set_ylim(low - 0.05 * (start - low), start + 0.5 * (start - low))
    axis.set_xscale("log")
    axis.set_xlabel("learning rate")
    axis.set_ylabel("training loss")
    axis.set_title("learning-rate range test")
    axis.grid(alpha=0.3)
    axis.legend()
    figure.tight_layout()
    return figure


def save(result, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    drawn = figure(result)
    plots.save(drawn, path)
    return path
