"""Figures a person would rather look at than read. Matplotlib only, headless (Agg)."""

from __future__ import annotations

import matplotlib
import numpy as np

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter, NullFormatter  # noqa: E402


def learning_curves(history: dict[str, list[float]]) -> Figure:
    """One panel per metric, training and validation curves together, epochs from 1."""
    names = [name for name in history if not name.startswith("val_")]
    columns = min(3, max(1, len(names)))
    rows = -(-len(names) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(4.5 * columns, 3.2 * rows),
                                squeeze=False)
    # Every run draws this figure, so its layout is fixed rather than measured
    # (`tight_layout` would cost a third of the drawing time).
    _margins_in_inches(figure, rows, columns, left=0.75, right=0.15, bottom=0.5, top=0.35,
                       between_columns=0.75, between_rows=0.85)
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
            # plain numbers: the default 10^k labels are typeset as mathtext, slowly
            axis.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
            axis.yaxis.set_minor_formatter(NullFormatter())
        axis.grid(alpha=0.3)
    for axis in list(axes.flat)[len(names):]:
        axis.set_visible(False)
    return figure


def _margins_in_inches(figure: Figure, rows: int, columns: int, *, left: float, right: float,
                       bottom: float, top: float, between_columns: float,
                       between_rows: float) -> None:
    width, height = figure.get_size_inches()
    axis_width = (width - left - right - (columns - 1) * between_columns) / columns
    axis_height = (height - bottom - top - (rows - 1) * between_rows) / rows
    figure.subplots_adjust(left=left / width, right=1 - right / width,
                           bottom=bottom / height, top=1 - top / height,
                           wspace=between_columns / axis_width,
                           hspace=between_rows / axis_height)


def close(figure: Figure) -> None:
    plt.close(figure)


def save(figure: Figure, path) -> None:
    """Write the figure as a PNG at kerazoo's resolution and free it."""
    figure.savefig(path, dpi=100)
    close(figure)


def confusion_matrix(counts, class_names: list[str]) -> Figure:
    """Rows are true classes, columns predicted ones; each cell shaded by the share of its
    row, so a weak class shows up whatever its size, and labelled with its count."""
    counts = np.asarray(counts)
    classes = len(counts)
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    side = min(12.0, 2.5 + 0.55 * classes)
    figure, axis = plt.subplots(figsize=(side + 1.2, side))
    image = axis.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    figure.colorbar(image, ax=axis, fraction=0.046, pad=0.04, label="share of the true class")
    axis.set_xticks(range(classes), class_names, rotation=45 if classes > 4 else 0,
                    ha="right" if classes > 4 else "center")
    axis.set_yticks(range(classes), class_names)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    if classes <= 20:  # beyond that the numbers no longer fit in the cells
        for row in range(classes):
            for column in range(classes):
                axis.text(column, row, str(int(counts[row, column])), ha="center",
                          va="center", fontsize=8,
                          color="white" if shares[row, column] > 0.5 else "black")
    accuracy = np.trace(counts) / max(counts.sum(), 1)
    axis.set_title(f"confusion matrix on the test split (accuracy {accuracy:.2%})")
    figure.tight_layout()
    return figure


def image_rows(rows: dict[str, object]) -> Figure:
    """One row of images per entry (e.g. noisy / denoised / clean), the same samples in
    every column. Images are (n, height, width) or (n, height, width, channels) in [0, 1]."""
    titles = list(rows)
    columns = len(rows[titles[0]])
    figure, axes = plt.subplots(len(titles), columns, figsize=(1.3 * columns, 1.45 * len(titles)),
                                squeeze=False)
    for row, title in enumerate(titles):
        for column, image in enumerate(np.asarray(rows[title])):
            axis = axes[row, column]
            gray = image.ndim == 2 or image.shape[-1] == 1
            axis.imshow(image.squeeze(-1) if image.ndim == 3 and gray else image,
                        cmap="gray" if gray else None, vmin=0.0, vmax=1.0)
            axis.set_xticks([])
            axis.set_yticks([])
        axes[row, 0].set_ylabel(title)
    figure.tight_layout()
    return figure


def score_histogram(normal, anomalous, threshold: float | None = None,
                    score_name: str = "anomaly score") -> Figure:
    """Overlaid histograms of the scores of normal and anomalous samples, on shared bins."""
    figure, axis = plt.subplots(figsize=(6.5, 4))
    bins = np.histogram_bin_edges(np.concatenate([normal, anomalous]), bins=40)
    axis.hist(normal, bins=bins, alpha=0.6, density=True, label=f"normal ({len(normal)})")
    axis.hist(anomalous, bins=bins, alpha=0.6, density=True,
              label=f"anomalous ({len(anomalous)})")
    if threshold is not None:
        axis.axvline(threshold, color="black", linestyle="--", label="threshold")
    axis.set_xlabel(score_name)
    axis.set_ylabel("density")
    axis.legend()
    axis.grid(alpha=0.3)
    figure.tight_layout()
    return figure


def roc_curve(false_positive_rates, true_positive_rates, area: float) -> Figure:
    figure, axis = plt.subplots(figsize=(4.8, 4.5))
    axis.plot(false_positive_rates, true_positive_rates, label=f"ROC AUC {area:.3f}")
    axis.plot([0, 1], [0, 1], color="gray", linestyle=":", label="chance")
    axis.set_xlabel("false positive rate (normal flagged)")
    axis.set_ylabel("true positive rate (anomalies found)")
    axis.set_xlim(0, 1)
    axis.set_ylim(0, 1.01)
    axis.legend(loc="lower right")
    axis.grid(alpha=0.3)
    figure.tight_layout()
    return figure


def forecasts(examples: list[dict[str, object]], unit: str = "series units") -> Figure:
    """One panel per example: the window's recent history, then the true future and each
    forecast over the horizon. Each example maps 'history', 'truth' and forecast names to
    values, plus 'start' (the time of the first future step)."""
    figure, axes = plt.subplots(len(examples), 1, figsize=(9, 2.8 * len(examples)),
                                squeeze=False)
    for axis, example in zip(axes[:, 0], examples, strict=True):
        start = int(example["start"])
        history = np.asarray(example["history"])
        truth = np.asarray(example["truth"])
        past = np.arange(start - len(history), start)
        future = np.arange(start, start + len(truth))
        axis.plot(past, history, color="gray", label="history")
        axis.plot(future, truth, color="black", marker=".", label="truth")
        for name, values in example.items():
            if name not in ("history", "truth", "start"):
                axis.plot(future, values, marker=".", label=name)
        axis.axvline(start - 0.5, color="gray", linestyle=":")
        axis.set_ylabel(unit)
        axis.grid(alpha=0.3)
    axes[0, 0].legend(loc="upper left", fontsize=8, ncols=3)
    axes[-1, 0].set_xlabel("time step")
    figure.tight_layout()
    return figure


def error_by_step(errors: dict[str, object], unit: str = "series units") -> Figure:
    """Mean absolute error at each step ahead, one line per forecaster."""
    figure, axis = plt.subplots(figsize=(6.5, 4))
    for name, values in errors.items():
        values = np.asarray(values)
        axis.plot(np.arange(1, len(values) + 1), values, marker=".", label=name)
    axis.set_xlabel("steps ahead")
    axis.set_ylabel(f"mean absolute error ({unit})")
    axis.set_ylim(bottom=0)
    axis.legend()
    axis.grid(alpha=0.3)
    figure.tight_layout()
    return figure
