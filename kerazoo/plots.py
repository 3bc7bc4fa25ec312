"""Figures a person would rather look at than read. Matplotlib only, headless (Agg)."""

from __future__ import annotations

import matplotlib
import numpy as np

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
from matplotlib.backends.backend_agg import RendererAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.font_manager import FontProperties  # noqa: E402
from matplotlib.ticker import (  # noqa: E402
    FuncFormatter,
    LogLocator,
    MaxNLocator,
    NullLocator,
)

# Tick spacings a reader finds round: 1, 2, 2.5 or 5 times a power of ten.
ROUND_STEPS = [1, 2, 2.5, 5, 10]


def learning_curves(history: dict[str, list[float]]) -> Figure:
    """One panel per metric, training and validation curves together, epochs from 1.

    A learning rate that never changed gets no panel: its flat line says no more than the
    run's `train.learning_rate` param, and costs a third of the drawing time."""
    names = sorted((name for name in history if not name.startswith("val_")
                    and not (name == "learning_rate" and len(set(history[name])) == 1)),
                   key=lambda name: name != "loss")  # the loss first, the rest as logged
    columns = min(3, max(1, len(names)))
    rows = max(1, -(-len(names) // columns))
    figure, axes = plt.subplots(rows, columns, figsize=(4.5 * columns, 3.2 * rows),
                                squeeze=False)
    # Every run draws this figure, so its layout is fixed rather than measured
    # (`tight_layout` would cost a third of the drawing time), and titles sit at a fixed
    # height (placing them around the tick labels measures every label).
    _margins_in_inches(figure, rows, columns, left=0.75, right=0.15, bottom=0.5, top=0.35,
                       between_columns=0.75, between_rows=0.85)
    for axis, name in zip(axes.flat, names, strict=False):
        epochs = range(1, len(history[name]) + 1)
        axis.plot(epochs, history[name], label="train", marker="." if len(epochs) < 30 else "")
        if f"val_{name}" in history:
            axis.plot(epochs, history[f"val_{name}"], label="validation",
                      marker="." if len(epochs) < 30 else "")
            axis.legend()
        axis.set_title(name.replace("_", " "), y=1.0, pad=6)
        axis.set_xlabel("epoch")
        # At most five or six labels an axis: every tick is a handful of artists to draw.
        axis.xaxis.set_major_locator(MaxNLocator(5, integer=True, steps=ROUND_STEPS))
        low, high = min(history[name]), max(history[name])
        if name in ("loss", "learning_rate") and low > 0 and high >= 10 * low:
            # A log scale once the values span a factor of ten (a loss that fell that far),
            # labelled at 1, 2 and 5 times each power of ten, which puts two or more labels
            # on any such span (minor ticks would cost more than they show), as plain
            # numbers (the default 10^k is typeset as mathtext, slowly).
            axis.set_yscale("log")
            decades = np.log10(high / low)
            axis.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0) if decades < 3
                                                    else (1.0,)))
            axis.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
            axis.yaxis.set_minor_locator(NullLocator())
        else:
            axis.yaxis.set_major_locator(MaxNLocator(5, steps=ROUND_STEPS))
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


# How every figure is written: 100 dots per inch, and zlib's fastest level, which spends a
# tenth of the time of the default on these flat-coloured pictures for files 15 % larger.
SAVE_OPTIONS = {"dpi": 100, "pil_kwargs": {"compress_level": 1}}


def save(figure: Figure, path) -> None:
    """Write the figure as a PNG with kerazoo's options and free it."""
    figure.savefig(path, **SAVE_OPTIONS)
    close(figure)


def confusion_matrix(counts, class_names: list[str]) -> Figure:
    """Rows are true classes, columns predicted ones; each cell shaded by the share of its
    row, so a weak class shows up whatever its size, and labelled with its count when it
    has any (blank zeros let the mistakes stand out, and cost no text to draw). Beyond 20
    classes the counts no longer fit in the cells and a colour bar reads the shades instead
    (with the counts written it would repeat them, for a quarter of the drawing time).

    Every classifier's run draws this, so the layout is computed from the label widths
    rather than by `tight_layout`, which draws the whole figure once more to measure it."""
    counts = np.asarray(counts)
    classes = len(counts)
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    written = classes <= 20
    label_width = _text_width_inches([str(name) for name in class_names], size=10)
    matrix = min(10.0, max(3.0, 0.45 * classes))  # inches; 0.45 fits a four-digit count
    rotate = label_width > 0.9 * matrix / classes  # names wider than a cell: slant them
    left = 0.55 + label_width  # y tick labels and the "true" label
    bottom = 0.55 + (label_width * 0.71 if rotate else 0.2)  # 45-degree labels: width/sqrt 2
    accuracy = np.trace(counts) / max(counts.sum(), 1)
    title = [f"confusion matrix on the test split (accuracy {accuracy:.2%})",
             *(["counts; darker = larger share of the true class"] if written else [])]
    top, right = 0.25 * len(title) + 0.15, 0.3 if written else 1.3  # the colour bar, if any
    width = max(left + matrix + right, _text_width_inches(title, size=12) + 0.3)
    height = bottom + matrix + top
    figure = Figure(figsize=(width, height))
    figure.suptitle("\n".join(title), y=1 - 0.1 / height, va="top")
    axis = figure.add_axes((left / width, bottom / height, matrix / width, matrix / height))
    image = axis.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    axis.set_xticks(range(classes), class_names, rotation=45 if rotate else 0,
                    ha="right" if rotate else "center", rotation_mode="anchor")
    axis.set_yticks(range(classes), class_names)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    if written:
        for row, column in zip(*np.nonzero(counts), strict=True):
            axis.text(column, row, str(int(counts[row, column])), ha="center",
                      va="center", fontsize=8,
                      color="white" if shares[row, column] > 0.5 else "black")
    else:
        colour_bar = figure.add_axes(((left + matrix + 0.2) / width, bottom / height,
                                      0.2 / width, matrix / height))
        figure.colorbar(image, cax=colour_bar, label="share of the true class")
    return figure


def _text_width_inches(texts: list[str], size: float) -> float:
    """The widest of `texts` at font `size`, measured from the font without drawing."""
    renderer = RendererAgg(1, 1, 72)  # 72 dots per inch: widths come out in points
    font = FontProperties(size=size)
    widths = [renderer.get_text_width_height_descent(text, font, ismath=False)[0]
              for text in texts]
    return max(widths, default=0.0) / 72


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
                    score_name: str = "anomaly score", axis=None) -> Figure:
    """Overlaid histograms of the scores of normal and anomalous samples, on shared bins;
    drawn into `axis` when given (a panel of a larger figure), else in a figure of its own."""
    figure, axis = plt.subplots(figsize=(6.5, 4)) if axis is None else (axis.figure, axis)
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


def roc_curve(false_positive_rates, true_positive_rates, area: float, axis=None) -> Figure:
    """The ROC curve with chance's diagonal; into `axis` when given, as `score_histogram`."""
    figure, axis = plt.subplots(figsize=(4.8, 4.5)) if axis is None else (axis.figure, axis)
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
