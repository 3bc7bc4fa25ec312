"""Figures a person would rather look at than read. Matplotlib only, headless (Agg)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
from matplotlib.figure import Figure  # noqa: E402


def learning_curves(history: dict[str, list[float]]) -> Figure:
    """One panel per metric, training and validation curves together, epochs from 1."""
    names = [name for name in history if not name.startswith("val_")]
    columns = min(3, max(1, len(names)))
    rows = -(-len(names) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(4.5 * columns, 3.2 * rows),
                                squeeze=False)
    for axis, name in zip(axes.flat, names, strict=False):
        epochs = range(1, len(history[name]) + 1)
        axis.plot(epochs, history[name], label="train", marker="." if len(epochs) < 30 else "")
        if f"val_{name}" in history:
            axis.plot(epochs, history[f"val_{name}"], label="validation",
                      marker="." if len(epochs) < 30 else "")
            axis.legend()
        axis.set_title(name.replace("_", " "))
        axis.set_xlabel("epoch")
        if name in ("loss", "learning_rate") and min(history[name]) > 0:
            axis.set_yscale("log")
        axis.grid(alpha=0.3)
    for axis in list(axes.flat)[len(names):]:
        axis.set_visible(False)
    figure.tight_layout()
    return figure


def close(figure: Figure) -> None:
    plt.close(figure)
