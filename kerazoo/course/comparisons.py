"""Figure kinds that compare runs: curves overlaid, final numbers as bars, epochs to reach a
level, the LR range test, the train-validation gap, speed-ups, samples of text.

Every kind has the same contract, `kind(results, **options) -> (figure, numbers)`: `results`
maps a lesson's run labels to their `RunResult`s, in the lesson's order; the numbers are
what the lesson's text quotes and its parent run logs, named `<label>_<what>` so the text
reads `{relu_epochs}`. No kind knows a lesson: the lesson's YAML chooses kind and options.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.pyplot as plt  # its backend is chosen lazily: kerazoo.plots sets Agg
import numpy as np
from matplotlib.figure import Figure

from kerazoo import plots  # noqa: F401  (selects the headless backend
from kerazoo.errors import KerazooError
from kerazoo.training.runner import RunResult

Results = dict[str, RunResult]


# --- reading numbers off a run -----------------------------------------------------------------

def final(result: RunResult, label: str, name: str) -> float:
    """A test metric (`test_accuracy`), else the last epoch's value of a per-epoch one."""
    if name in result.metrics:
        return float(result.metrics[name])
    if result.history.get(name):
        return float(result.history[name][-1])
    known = sorted({*result.metrics, *result.history})
    raise KerazooError(f"run {label!r} logged no {name!r}; it logged: {', '.join(known)}")


def series(result: RunResult, label: str, name: str) -> list[float]:
    if not result.history.get(name):
        raise KerazooError(f"run {label!r} has no per-epoch {name!r}; it logged: "
                           f"{', '.join(sorted(result.history))}")
    return list(result.history[name])


def _lower_is_better(metric: str) -> bool:
    return any(word in metric for word in ("loss", "error", "bits", "seconds"))


def _style(axis, title: str, xlabel: str, ylabel: str = "") -> None:
    axis.set_title(title)
    axis.set_xlabel(xlabel)
    if ylabel:
        axis.set_ylabel(ylabel)
    axis.grid(alpha=0.3)


def _axes(panels: int, width: float = 4.6, height: float = 3.4):
    figure, axes = plt.subplots(1, panels, figsize=(width * panels, height), squeeze=False)
    return figure, list(axes.flat)


def _log_if_wide(axis, values: Sequence[float], which: str = "y") -> None:
    """A log scale once positive values span more than a factor of 20 (seconds of batch-1
    SGD beside a full batch's; a loss that fell that far)."""
    positive = [value for value in values if value > 0 and math.isfinite(value)]
    if positive and len(positive) == len(values) and max(positive) >= 20 * min(positive):
        (axis.set_yscale if which == "y" else axis.set_xscale)("log")


# --- kinds -------------------------------------------------------------------------------------

def curves(results: Results, metrics: Sequence[str] = ("loss",),
           x: Sequence[str] = ("epoch",), title: str = "") -> tuple[Figure, dict[str, float]]:
    """Each metric's per-epoch values overlaid across the runs, one panel per metric and per
    x axis: `epoch`, or a per-epoch running total the run logged (`training_seconds`).

    Numbers: `<label>_<metric>` (the last epoch's value) and `<label>_<x>` (the running
    total at the end) for each x other than epochs."""
    metrics, xs = list(metrics), list(x)
    figure, axes = _axes(len(metrics) * len(xs))
    numbers: dict[str, float] = {}
    panels = [(metric, x_name) for metric in metrics for x_name in xs]
    for axis, (metric, x_name) in zip(axes, panels, strict=True):
        drawn: list[float] = []
        spent: list[float] = []
        for label, result in results.items():
            values = series(result, label, metric)
            if x_name == "epoch":
                positions = list(range(1, len(values) + 1))
            else:
                positions = series(result, label, x_name)
                numbers[f"{label}_{x_name}"] = positions[-1]
                spent += positions
            axis.plot(positions, values, label=label, marker="." if len(values) < 30 else "")
            numbers[f"{label}_{metric}"] = values[-1]
            drawn += values
        _log_if_wide(axis, drawn)
        _log_if_wide(axis, spent, "x")
        _style(axis, f"{title}{' ' if title else ''}{metric.replace('_', ' ')}",
               x_name.replace("_", " "))
        axis.legend(fontsize="small")
    figure.tight_layout()
    return figure, numbers


def bars(results: Results, metrics: Sequence[str] = ("test_accuracy",),
         title: str = "") -> tuple[Figure, dict[str, float]]:
    """The runs' final values side by side, one panel per metric; numbers
    `<label>_<metric>`."""
    figure, axes = _axes(len(metrics), width=max(3.6, 1.1 * len(results) + 1.5))
    numbers: dict[str, float] = {}
    labels = list(results)
    for axis, metric in zip(axes, metrics, strict=True):
        values = [final(result, label, metric) for label, result in results.items()]
        numbers.update({f"{label}_{metric}": value for label, value in zip(labels, values,
                                                                           strict=True)})
        shown = axis.bar(labels, values, color=[f"C{index}" for index in range(len(labels))])
        axis.bar_label(shown, fmt="%.3g", fontsize="small")
        _style(axis, f"{title}{' ' if title else ''}{metric.replace('_', ' ')}", "")
        axis.tick_params(axis="x", labelrotation=20)
    figure.tight_layout()
    return figure, numbers


def epochs_to_reach(results: Results, metric: str = "accuracy", level: float = 0.9,
                    ) -> tuple[Figure, dict[str, float]]:
    """The epoch at which each run's `metric` first reaches `level` (at or above it, or at
    or below for a loss or an error), as in AlexNet's figure 1 (epochs to 25 % training
    error, ReLU against tanh). Numbers: `<label>_epochs` (NaN where never reached) and
    `<label>_<metric>`, the last value."""
    lower = _lower_is_better(metric)
    figure, (curve_axis, bar_axis) = _axes(2)
    numbers: dict[str, float] = {}
    for index, (label, result) in enumerate(results.items()):
        values = series(result, label, metric)
        reached = [epoch for epoch, value in enumerate(values, start=1)
                   if (value <= level if lower else value >= level)]
        epochs = float(reached[0]) if reached else math.nan
        numbers[f"{label}_epochs"] = epochs
        numbers[f"{label}_{metric}"] = values[-1]
        curve_axis.plot(range(1, len(values) + 1), values, label=label, color=f"C{index}")
        if reached:
            curve_axis.plot([epochs], [values[reached[0] - 1]], "o", color=f"C{index}")
        shown = bar_axis.bar([label], [epochs if reached else 0], color=f"C{index}")
        bar_axis.bar_label(shown, labels=[f"{epochs:.0f}" if reached else "never"],
                           fontsize="small")
    curve_axis.axhline(level, color="gray", linestyle="--", linewidth=1)
    _style(curve_axis, f"{metric.replace('_', ' ')} (level {level:g} dashed)", "epoch")
    curve_axis.legend(fontsize="small")
    _style(bar_axis, f"epochs to reach {metric.replace('_', ' ')} {level:g}", "")
    figure.tight_layout()
    return figure, numbers


def lr_range(results: Results, finder: str, metric: str = "val_loss",
             ) -> tuple[Figure, dict[str, float]]:
    """The LR range test of run `finder` (Smith 2017: the loss over a sweep of exponentially
    growing rates, the suggestion marked), beside `metric` for each run, labelled with the
    rate it trained at. Numbers: `suggested_rate`, `<label>_rate`, `<label>_<metric>`."""
    if finder not in results or getattr(results[finder], "lr_finder", None) is None:
        raise KerazooError(f"figure lr_range: run {finder!r} ran no LR range test; give "
                           "it train.learning_rate: auto")
    sweep = results[finder].lr_finder
    figure, (sweep_axis, curve_axis) = _axes(2)
    sweep_axis.plot(sweep.learning_rates, sweep.losses, color="lightgray", label="loss")
    sweep_axis.plot(sweep.learning_rates, sweep.smoothed_losses, color="C0", label="smoothed")
    sweep_axis.axvline(sweep.suggestion, color="C3", linestyle="--",
                       label=f"suggested {sweep.suggestion:.2g}")
    sweep_axis.set_xscale("log")
    low = min(min(sweep.smoothed_losses), min(sweep.losses))
    sweep_axis.set_ylim(low - 0.1 * abs(low), sweep.smoothed_losses[0] * 1.5 + 0.1)
    _style(sweep_axis, "LR range test", "learning rate", "training loss")
    sweep_axis.legend(fontsize="small")
    numbers = {"suggested_rate": float(sweep.suggestion)}
    drawn: list[float] = []
    for label, result in results.items():
        values = series(result, label, metric)
        rate = series(result, label, "learning_rate")[0]
        numbers[f"{label}_rate"] = rate
        numbers[f"{label}_{metric}"] = values[-1]
        drawn += values
        curve_axis.plot(range(1, len(values) + 1), values, label=f"{label} ({rate:.2g})")
    _log_if_wide(curve_axis, drawn)
    _style(curve_axis, f"{metric.replace('_', ' ')} at each rate", "epoch")
    curve_axis.legend(fontsize="small")
    figure.tight_layout()
    return figure, numbers


def gap(results: Results, metric: str = "accuracy") -> tuple[Figure, dict[str, float]]:
    """How much better each run does on its training data than on validation data: the
    training and validation curves of `metric`, and the gap at the last epoch (training
    minus validation for accuracies, validation minus training for losses). Numbers:
    `<label>_<metric>_gap`, `<label>_<metric>`, `<label>_val_<metric>`."""
    lower = _lower_is_better(metric)
    figure, (curve_axis, bar_axis) = _axes(2)
    numbers: dict[str, float] = {}
    for index, (label, result) in enumerate(results.items()):
        train = series(result, label, metric)
        validation = series(result, label, f"val_{metric}")
        epochs = range(1, len(train) + 1)
        curve_axis.plot(epochs, train, color=f"C{index}", label=f"{label} train")
        curve_axis.plot(epochs, validation, color=f"C{index}", linestyle="--",
                        label=f"{label} validation")
        difference = validation[-1] - train[-1] if lower else train[-1] - validation[-1]
        numbers.update({f"{label}_{metric}_gap": difference, f"{label}_{metric}": train[-1],
                        f"{label}_val_{metric}": validation[-1]})
        shown = bar_axis.bar([label], [difference], color=f"C{index}")
        bar_axis.bar_label(shown, fmt="%.3f", fontsize="small")
    _style(curve_axis, f"{metric.replace('_', ' ')}: train (solid), validation (dashed)",
           "epoch")
    curve_axis.legend(fontsize="x-small", ncol=2)
    _style(bar_axis, "train-validation gap at the end", "")
    bar_axis.tick_params(axis="x", labelrotation=20)
    figure.tight_layout()
    return figure, numbers


def speedup(results: Results, baseline: str, seconds: str = "hogwild_seconds",
            metric: str = "test_loss") -> tuple[Figure, dict[str, float]]:
    """Training time and final quality side by side (HOGWILD!'s comparison, Recht et al.
    2011): `seconds` is a per-epoch running total the runs log. Numbers: `<label>_seconds`,
    `<label>_speedup` (the baseline's seconds over the run's) and `<label>_<metric>`."""
    if baseline not in results:
        raise KerazooError(f"figure speedup: baseline {baseline!r} is not among the runs "
                           f"{list(results)}")
    figure, (time_axis, metric_axis) = _axes(2)
    base_seconds = final(results[baseline], baseline, seconds)
    numbers: dict[str, float] = {}
    labels = list(results)
    for index, label in enumerate(labels):
        spent = final(results[label], label, seconds)
        value = final(results[label], label, metric)
        numbers.update({f"{label}_seconds": spent, f"{label}_speedup": base_seconds / spent,
                        f"{label}_{metric}": value})
        shown = time_axis.bar([label], [spent], color=f"C{index}")
        time_axis.bar_label(shown, labels=[f"{spent:.1f} s ({base_seconds / spent:.2f}x)"],
                            fontsize="small")
        shown = metric_axis.bar([label], [value], color=f"C{index}")
        metric_axis.bar_label(shown, fmt="%.4g", fontsize="small")
    _style(time_axis, f"training time ({seconds.replace('_', ' ')})", "")
    _style(metric_axis, metric.replace("_", " "), "")
    figure.tight_layout()
    return figure, numbers


def metric_by_value(results: Results, metric: str, series_names: Sequence[str],
                    values: Sequence[float], solved: float | None = None,
                    xlabel: str = "") -> tuple[Figure, dict[str, float]]:
    """One line per series across a setting that grows (runs labelled
    `<series>_<value>`, e.g. `lstm_80`): the temporal-order lesson's accuracy against the
    sequence length. Numbers: `<label>_<metric>`, and with `solved`,
    `<series>_longest_solved`: the largest value at which the metric reaches `solved` (0
    where none does)."""
    figure, (axis,) = _axes(1, width=5.6)
    numbers: dict[str, float] = {}
    for name in series_names:
        points = []
        for value in values:
            label = f"{name}_{value}"
            if label not in results:
                raise KerazooError(f"figure metric_by_value: no run labelled {label!r}; "
                                   f"runs: {', '.join(results)}")
            points.append(final(results[label], label, metric))
            numbers[f"{label}_{metric}"] = points[-1]
        axis.plot(list(values), points, marker="o", label=name)
        if solved is not None:
            reached = [value for value, point in zip(values, points, strict=True)
                       if point >= solved]
            numbers[f"{name}_longest_solved"] = float(max(reached, default=0))
    if solved is not None:
        axis.axhline(solved, color="gray", linestyle="--", linewidth=1)
    _style(axis, metric.replace("_", " "), xlabel)
    axis.legend(fontsize="small")
    figure.tight_layout()
    return figure, numbers


def text_samples(results: Results, run: str, temperatures: Sequence[float] = (0.2, 0.5, 1.0),
                 length: int = 160, prompt_length: int = 40,
                 ) -> tuple[Figure, dict[str, float]]:
    """A char-RNN's text at several sampling temperatures from one prompt (the start of the
    first test window), drawn as text. Numbers: `<run>_bits_per_character` on the test
    split, and `real_words_<t>` per temperature: the fraction of the words it wrote that
    occur in the training text (low temperatures keep to words it knows)."""
    from kerazoo.data.char_windows import decode
    from kerazoo.generate import sample_texts

    result = results[run]
    vocabulary = result.data.extras["vocabulary"]
    prompt = _prose_prompt(result.data.test.x, vocabulary, prompt_length, decode)
    known = {word for window in result.data.train.x
             for word in decode(window, vocabulary).split()}
    numbers = {f"{run}_bits_per_character": final(result, run, "test_bits_per_character")}
    lines = [f"prompt: {prompt!r}"]
    texts = sample_texts(result.model, vocabulary, prompt, length=length,
                         temperatures=temperatures, seeds=range(len(temperatures)))
    for temperature, text in zip(temperatures, texts, strict=True):
        text = text[len(prompt):]
        # The first and last words may be cut by the window or the sample's end.
        words = text.split()[1:-1]
        numbers[f"real_words_{temperature:g}".replace(".", "_")] = (
            sum(word in known for word in words) / max(1, len(words)))
        lines.append(f"temperature {temperature:g}:")
        lines += [repr(text[start:start + 80]) for start in range(0, len(text), 80)]
    figure = plt.figure(figsize=(6.8, 0.3 + 0.15 * len(lines)))
    figure.text(0.01, 0.98, "\n".join(lines), family="monospace", fontsize=8, va="top")
    return figure, numbers


def _prose_prompt(windows, vocabulary, length: int, decode) -> str:
    """The first stretch of test text that is prose, starting at a word: a prompt inside a
    heading's underline (`*****`) or a code listing would only be continued as such."""
    for window in windows[:200]:
        text = decode(window, vocabulary)
        start = text.find(" ") + 1
        candidate = text[start:start + length]
        if len(candidate) == length and sum(
                character.isalpha() or character == " " for character in candidate) >= 0.9 * length:
            return candidate
    return decode(windows[0], vocabulary)[:length] or "\n"


def decoded_examples(results: Results, run: str, count: int = 12,
                     ) -> tuple[Figure, dict[str, float]]:
    """An encoder-decoder's greedy answers to test questions, beside the expected ones, and
    its exact match. Numbers: `<run>_exact_match` (the test split's)."""
    from kerazoo.generate import greedy_decode

    result = results[run]
    extras, test = result.data.extras, result.data.test
    source = test.x[0] if isinstance(test.x, tuple) else test.x
    source = source[:count]
    generated = greedy_decode(result.model, source, extras["start_id"], extras["end_id"],
                              max_length=extras["target_length"])
    expected = np.where(test.y[:count] == extras["end_id"], 0, test.y[:count])
    vocabulary = extras["vocabulary"]

    def text(ids) -> str:
        return "".join(vocabulary[int(i)] for i in ids if int(i))

    lines = ["question = expected | decoded"]
    for row in range(len(source)):
        question = text(source[row])
        question = question[::-1] if extras.get("reverse_source") else question
        answer, decoded = text(expected[row]), text(generated[row])
        lines.append(f"{'ok ' if answer == decoded else 'BAD'} {question:>9} = "
                     f"{answer:<5}| {decoded}")
    figure = plt.figure(figsize=(4.2, 0.3 + 0.17 * len(lines)))
    figure.text(0.02, 0.98, "\n".join(lines), family="monospace", fontsize=9, va="top")
    return figure, {f"{run}_exact_match": final(result, run, "test_exact_match")}
