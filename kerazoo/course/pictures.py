"""The lessons' comparison figures ("figure kinds"): each draws what several runs of a lesson
show side by side and measures the numbers the lesson's text quotes.

Every kind is `kind(results, **options) -> (figure, numbers)`: `results` maps run names to
`kerazoo.runner.RunResult`, options come from the lesson's YAML, and `numbers` are short
snake_case keys the lesson logs as its parent run's metrics. Kinds only read the trained
models and their data; they train nothing and log nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np
from matplotlib.figure import Figure
from sklearn import tree as sklearn_tree

from kerazoo import arguments, plots
from kerazoo.callbacks.model_parts import all_layers, layers_of_type
from kerazoo.errors import KerazooError, unknown_name
from kerazoo.models.recurrent import RECURRENT_LAYERS
from kerazoo.reports import anomaly as anomaly_report

plt = plots.plt  # pyplot with kerazoo's headless backend already chosen

Numbers = dict[str, float]
# Points per side of the grid a model is evaluated on to draw the plane: 100 × 100 is
# smooth at these figure sizes and one predict call of 10 000 rows.
GRID_STEPS = 100
# Points drawn over a boundary: more hide it.
MAX_POINTS = 300
IMAGE_COLUMNS = 8


# --- choosing runs ------------------------------------------------------------------------

def _run(results: dict, run: Any, option: str = "run"):
    if not isinstance(run, str) or run not in results:
        raise unknown_name(f"run for `{option}`", str(run), results)
    return results[run]


def _runs(results: dict, runs: Any) -> list[str]:
    """The runs an option names, in its order; all of them, in the lesson's order, if None."""
    if runs is None:
        return list(results)
    if isinstance(runs, str) or not isinstance(runs, Sequence) or not runs:
        raise arguments.fail("runs", "a non-empty list of run names", runs)
    for name in runs:
        _run(results, name, "runs")
    return list(runs)


def _accuracy(predict: Callable[[np.ndarray], np.ndarray], split) -> float:
    return float((predict(split.x) == split.y).mean())


def _predicted_classes(model: keras.Model) -> Callable[[np.ndarray], np.ndarray]:
    return lambda x: model.predict(x, batch_size=4096, verbose=0).argmax(axis=-1)


# --- the plane ----------------------------------------------------------------------------

def _plane(data, steps: int) -> tuple[tuple[float, ...], np.ndarray]:
    """The extent (x_min, x_max, y_min, y_max) to draw and a steps × steps grid of points over
    it, row by row from the bottom (imshow's origin="lower")."""
    extent = data.extras.get("extent")
    if extent is None:  # data from another loader: frame its training points
        low, high = data.train.x.min(axis=0), data.train.x.max(axis=0)
        pad = 0.1 * (high - low)
        extent = (low[0] - pad[0], high[0] + pad[0], low[1] - pad[1], high[1] + pad[1])
    xs = np.linspace(extent[0], extent[1], steps)
    ys = np.linspace(extent[2], extent[3], steps)
    grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2).astype(np.float32)
    return tuple(float(value) for value in extent), grid


def _points(axis, split, classes: int) -> None:
    shown = split.select(slice(0, MAX_POINTS))
    axis.scatter(shown.x[:, 0], shown.x[:, 1], c=shown.y, cmap="coolwarm", vmin=0,
                 vmax=max(classes - 1, 1), s=9, edgecolors="black", linewidths=0.3)


def _panels(count: int, side: float = 2.6) -> tuple[Figure, np.ndarray]:
    figure, axes = plt.subplots(1, count, figsize=(side * count, side + 0.4), squeeze=False)
    return figure, axes[0]


def decision_boundaries(results: dict, runs: Sequence[str] | None = None,
                        tree_depth: int | None = None,
                        grid_steps: int = GRID_STEPS) -> tuple[Figure, Numbers]:
    """Each run's predicted class over the plane, with the validation points, and beside
    them scikit-learn's decision tree fitted on the same training split: its boundaries are
    axis-aligned steps, piecewise constant like a linear model's half-planes but not linear.
    Numbers: each run's validation accuracy, the tree's, and the tree's depth and leaves."""
    names = _runs(results, runs)
    if tree_depth is not None:
        tree_depth = arguments.positive_int("tree_depth", tree_depth)
    grid_steps = arguments.int_at_least("grid_steps", grid_steps, 10)
    data = results[names[0]].data
    if data.train.x.ndim != 2 or data.train.x.shape[1] != 2:
        raise arguments.fail("runs", "runs on 2-D points (e.g. the planar data)", names)
    classes = int(max(data.train.y.max(), data.validation.y.max())) + 1
    extent, grid = _plane(data, grid_steps)
    tree = sklearn_tree.DecisionTreeClassifier(max_depth=tree_depth, random_state=0)
    tree.fit(data.train.x, data.train.y)
    predictors = {name: _predicted_classes(results[name].model) for name in names}
    predictors["decision tree"] = tree.predict
    figure, axes = _panels(len(predictors))
    numbers = {}
    for axis, (name, predict) in zip(axes, predictors.items(), strict=True):
        accuracy = _accuracy(predict, data.validation)
        numbers[f"{name.replace(' ', '_')}_val_accuracy"] = accuracy
        axis.imshow(predict(grid).reshape(grid_steps, grid_steps), origin="lower",
                    extent=extent, cmap="coolwarm", vmin=0, vmax=max(classes - 1, 1),
                    alpha=0.35, aspect="auto", interpolation="nearest")
        _points(axis, data.validation, classes)
        axis.set_title(f"{name}\nvalidation {accuracy:.1%}", fontsize=9)
        axis.set_xticks([])
        axis.set_yticks([])
    numbers["decision_tree_depth"] = float(tree.get_depth())
    numbers["decision_tree_leaves"] = float(tree.get_n_leaves())
    figure.tight_layout()
    return figure, numbers


# --- what hidden units compute ------------------------------------------------------------

def hidden_representations(model: keras.Model) -> list[keras.layers.Layer]:
    """For each hidden Dense layer (every Dense but the output), the layer whose output is
    that layer's activations: the Dense itself, or the batch norm and activation that follow
    it (the mlp builder keeps those separate); dropout is skipped, it changes nothing at
    inference."""
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    dense = [index for index, layer in enumerate(layers) if isinstance(layer, keras.layers.Dense)]
    found = []
    for start, end in zip(dense[:-1], dense[1:], strict=True):
        group = [layer for layer in layers[start:end]
                 if isinstance(layer, keras.layers.Dense | keras.layers.Activation
                               | keras.layers.BatchNormalization)]
        found.append(group[-1])
    return found


def hidden_units(results: dict, run: str | None = None,
                 layers: Sequence[str | int] = ("first", "last"), max_units: int = 16,
                 grid_steps: int = 40) -> tuple[Figure, Numbers]:
    """Each hidden unit's activation over the plane, as a small image (yellow high, purple
    low, each unit on its own scale): the first hidden layer's units cut the plane with lines
    (ReLU's half-planes); the last layer's combine them into curved regions.
    `layers`: "first", "last" or layer positions counted from 0. Numbers per layer drawn:
    its units and the fraction that are constant over the whole plane (dead ReLUs)."""
    result = _run(results, run if run is not None else next(iter(results)))
    max_units = arguments.positive_int("max_units", max_units)
    grid_steps = arguments.int_at_least("grid_steps", grid_steps, 10)
    hidden = hidden_representations(result.model)
    if not hidden:
        raise arguments.fail("run", "a run whose model has a hidden Dense layer", run)
    chosen: dict[str, keras.layers.Layer] = {}
    for which in ([layers] if isinstance(layers, str | int) else layers):
        if which in ("first", "last"):
            chosen.setdefault(which, hidden[0] if which == "first" else hidden[-1])
        elif isinstance(which, int) and not isinstance(which, bool) and 0 <= which < len(hidden):
            chosen.setdefault(f"layer_{which}", hidden[which])
        else:
            raise arguments.fail("layers", f"'first', 'last' or a position below {len(hidden)}",
                                 which)
    extent, grid = _plane(result.data, grid_steps)
    probe = keras.Model(result.model.inputs, [layer.output for layer in chosen.values()])
    outputs = probe.predict(grid, batch_size=4096, verbose=0)
    outputs = outputs if isinstance(outputs, list | tuple) else [outputs]
    rows = [math.ceil(min(output.shape[-1], max_units) / IMAGE_COLUMNS) for output in outputs]
    figure, axes = plt.subplots(sum(rows), IMAGE_COLUMNS,
                                figsize=(1.1 * IMAGE_COLUMNS, 1.2 * sum(rows) + 0.2),
                                squeeze=False)
    numbers, row = {}, 0
    for (which, layer), output, height in zip(chosen.items(), outputs, rows, strict=True):
        spread = output.max(axis=0) - output.min(axis=0)
        numbers[f"{which}_units"] = float(output.shape[-1])
        numbers[f"{which}_dead_fraction"] = float((spread < 1e-6).mean())
        block = axes[row:row + height].flat
        for unit, axis in enumerate(block):
            axis.set_xticks([])
            axis.set_yticks([])
            if unit >= min(output.shape[-1], max_units):
                axis.set_visible(False)
                continue
            axis.imshow(output[:, unit].reshape(grid_steps, grid_steps), origin="lower",
                        extent=extent, cmap="viridis", aspect="auto")
        axes[row, 0].set_ylabel(f"{which}\n{layer.name}", fontsize=8)
        row += height
    figure.tight_layout()
    return figure, numbers


# --- backpropagation checked --------------------------------------------------------------

def float64_copy(model: keras.Model) -> keras.Model:
    """The model rebuilt with every layer computing in float64 and the same weights, so that
    finite differences are not drowned by float32 rounding (a step of 1e-6 would move a
    float32 loss by less than its last bit)."""
    def in_float64(layer):
        return layer.__class__.from_config({**layer.get_config(), "dtype": "float64"})

    copy = keras.models.clone_model(model, clone_function=in_float64)
    copy.set_weights([weights.astype(np.float64) if np.issubdtype(weights.dtype, np.floating)
                      else weights for weights in model.get_weights()])
    return copy


def _loss_function(model: keras.Model) -> Callable:
    """The model's compiled loss (sparse categorical cross-entropy when it has none), per
    sample, computing in the dtype it is given rather than a policy's float32."""
    loss = getattr(model, "loss", None) or "sparse_categorical_crossentropy"
    if isinstance(loss, keras.losses.Loss):
        loss = type(loss).from_config({**loss.get_config(), "dtype": "float64"})
    else:
        loss = keras.losses.get(loss)
    return loss


def autodiff_gradients(function: Callable, values: list[np.ndarray]) -> list[np.ndarray]:
    """The gradient of scalar `function(values)` by automatic differentiation.

    Keras 3 has no backend-agnostic gradient call (each backend's trainer writes its own),
    and only on TensorFlow do Keras ops keep float64: on JAX and torch Keras' type promotion
    (keras/src/backend/common/dtypes.py, BIT64_TO_BIT32_DTYPE) computes float64 inputs in
    float32, which finite differences cannot check to 1e-4. So this is TensorFlow's tape, and
    the one place that names a backend."""
    if keras.backend.backend() != "tensorflow":
        raise KerazooError(
            "gradient_check needs float64 arithmetic, which Keras keeps only on the TensorFlow "
            "backend (on others its ops compute float64 in float32); run it with "
            f"KERAS_BACKEND=tensorflow. Received: backend={keras.backend.backend()!r}")
    import tensorflow as tf

    tensors = [tf.constant(value) for value in values]
    with tf.GradientTape() as tape:
        tape.watch(tensors)
        loss = function(tensors)
    return [keras.ops.convert_to_numpy(gradient) for gradient in tape.gradient(loss, tensors)]


def gradient_errors(model: keras.Model, x: np.ndarray, y: np.ndarray, entries: int = 64,
                    step: float = 1e-6, seed: int = 0) -> dict[str, float]:
    """Backprop's gradient of the loss on (x, y) against central finite differences, per
    trainable variable (by its path, e.g. "dense_0/kernel"): the relative error
    ‖autodiff - numeric‖ / (‖autodiff‖ + ‖numeric‖) over up to `entries` coordinates drawn
    from each variable (every coordinate would cost two forward passes each).

    Computed on a float64 copy, in inference mode (dropout off); the data loss only, without
    weight penalties, which backprop differentiates the same way."""
    copy = float64_copy(model)
    loss = _loss_function(model)
    fixed = [variable.value for variable in copy.non_trainable_variables]
    values = [np.asarray(keras.ops.convert_to_numpy(variable.value), dtype=np.float64)
              for variable in copy.trainable_variables]
    x64 = np.asarray(x, dtype=np.float64)

    def loss_of(current):
        outputs, _ = copy.stateless_call(list(current), fixed, x64, training=False)
        return keras.ops.mean(loss(y, outputs))

    analytic = autodiff_gradients(loss_of, values)
    generator = np.random.default_rng(seed)
    errors = {}
    for index, variable in enumerate(copy.trainable_variables):
        size = values[index].size
        picked = generator.choice(size, min(size, entries), replace=False)
        numeric = np.empty(len(picked))
        for position, flat in enumerate(picked):
            losses = []
            for sign in (1.0, -1.0):
                moved = [value.copy() for value in values]
                moved[index].flat[flat] += sign * step
                losses.append(float(keras.ops.convert_to_numpy(loss_of(moved))))
            numeric[position] = (losses[0] - losses[1]) / (2 * step)
        exact = analytic[index].reshape(-1)[picked]
        scale = np.linalg.norm(exact) + np.linalg.norm(numeric)
        errors[variable.path] = float(np.linalg.norm(exact - numeric) / scale) if scale else 0.0
    return errors


def gradient_check(results: dict, run: str | None = None, batch_size: int = 32,
                   entries: int = 64, step: float = 1e-6,
                   tolerance: float = 1e-4) -> tuple[Figure, Numbers]:
    """The chain rule checked: autodiff gradients of the run's loss on its first training
    batch against central finite differences, as the relative error per layer's kernel and
    bias (log scale; `tolerance` drawn as a line). Numbers: `max_relative_error` and one
    `<layer>_<kernel|bias>_relative_error` per variable."""
    result = _run(results, run if run is not None else next(iter(results)))
    batch_size = arguments.positive_int("batch_size", batch_size)
    entries = arguments.positive_int("entries", entries)
    step = arguments.positive_number("step", step)
    tolerance = arguments.positive_number("tolerance", tolerance)
    batch = result.data.train.head(batch_size)
    errors = gradient_errors(result.model, batch.x, batch.y, entries=entries, step=step)
    names = list(errors)
    figure, axis = plt.subplots(figsize=(max(4.0, 0.7 * len(names) + 1.5), 3.6))
    # A perfect match (0) cannot sit on a log axis; floor it at float64's resolution.
    axis.bar(range(len(names)), [max(errors[name], 1e-16) for name in names], color="tab:blue")
    axis.axhline(tolerance, color="black", linestyle="--", label=f"tolerance {tolerance:g}")
    axis.set_yscale("log")
    axis.set_xticks(range(len(names)), names, rotation=45, ha="right", rotation_mode="anchor",
                    fontsize=8)
    axis.set_ylabel("relative error (autodiff vs\nfinite differences)")
    axis.set_title(f"gradient check, {len(batch)} samples, float64", fontsize=10)
    axis.legend(fontsize=8)
    axis.grid(alpha=0.3, axis="y")
    figure.tight_layout()
    numbers = {"max_relative_error": max(errors.values())}
    numbers.update({f"{name.replace('/', '_')}_relative_error": value
                    for name, value in errors.items()})
    return figure, numbers


# --- weights ------------------------------------------------------------------------------

def first_layer_filters(results: dict, run: str | None = None,
                        max_filters: int = 32) -> tuple[Figure, Numbers]:
    """The first Conv2D layer's kernels as small images, each stretched to its own range
    (colour when the layer reads RGB, grey otherwise, averaged over other channel counts).
    Numbers: `filters`, `kernel_height`, `kernel_width`."""
    result = _run(results, run if run is not None else next(iter(results)))
    max_filters = arguments.positive_int("max_filters", max_filters)
    convolutions = layers_of_type(result.model, keras.layers.Conv2D)
    if not convolutions:
        raise arguments.fail("run", "a run whose model has a Conv2D layer", run)
    kernel = np.asarray(keras.ops.convert_to_numpy(convolutions[0].kernel), dtype=np.float64)
    height, width, channels, filters = kernel.shape
    shown = min(filters, max_filters)
    rows = math.ceil(shown / IMAGE_COLUMNS)
    figure, axes = plt.subplots(rows, IMAGE_COLUMNS, figsize=(0.9 * IMAGE_COLUMNS,
                                                              0.9 * rows + 0.4), squeeze=False)
    for index, axis in enumerate(axes.flat):
        axis.set_xticks([])
        axis.set_yticks([])
        if index >= shown:
            axis.set_visible(False)
            continue
        image = kernel[..., index]
        image = image if channels == 3 else image.mean(axis=-1)
        low, high = image.min(), image.max()
        image = (image - low) / (high - low) if high > low else np.zeros_like(image)
        axis.imshow(image, cmap=None if channels == 3 else "gray", vmin=0, vmax=1,
                    interpolation="nearest")
    figure.suptitle(f"{convolutions[0].name}: {filters} filters of {height}×{width}×{channels}",
                    fontsize=10)
    figure.tight_layout()
    return figure, {"filters": float(filters), "kernel_height": float(height),
                    "kernel_width": float(width)}


def kernels(model: keras.Model) -> np.ndarray:
    """Every Dense and convolution kernel of the model, flattened into one vector (biases
    are left out: weight penalties and their sparsity concern kernels)."""
    found = [np.asarray(keras.ops.convert_to_numpy(layer.kernel), dtype=np.float64).reshape(-1)
             for layer in all_layers(model)
             if isinstance(layer, keras.layers.Dense | keras.layers.Conv1D
                           | keras.layers.Conv2D) and layer.built]
    if not found:
        raise arguments.fail("runs", "runs whose models have Dense or Conv kernels", model.name)
    return np.concatenate(found)


def weight_histograms(results: dict, runs: Sequence[str] | None = None,
                      near_zero: float = 0.01, bins: int = 60) -> tuple[Figure, Numbers]:
    """Histograms of each run's kernel weights, one panel per run on shared bins (log
    counts, so L1's spike at zero and the tails show together). Numbers per run: the
    fraction of weights with |w| < `near_zero` (L1 drives weights there; Adam's steps keep
    them jittering about zero rather than exactly at it) and the weights' L2 norm."""
    names = _runs(results, runs)
    near_zero = arguments.positive_number("near_zero", near_zero)
    bins = arguments.int_at_least("bins", bins, 5)
    weights = {name: kernels(results[name].model) for name in names}
    limit = max(float(np.percentile(np.abs(values), 99.5)) for values in weights.values())
    edges = np.linspace(-limit, limit, bins + 1)
    figure, axes = _panels(len(names), side=2.4)
    numbers = {}
    for axis, (name, values) in zip(axes, weights.items(), strict=True):
        fraction = float((np.abs(values) < near_zero).mean())
        numbers[f"{name}_near_zero_fraction"] = fraction
        numbers[f"{name}_weight_norm"] = float(np.linalg.norm(values))
        axis.hist(np.clip(values, -limit, limit), bins=edges, color="tab:blue")
        axis.set_yscale("log")
        axis.set_title(f"{name}\n{fraction:.0%} near zero", fontsize=9)
        axis.set_xlabel("weight")
        axis.grid(alpha=0.3)
    axes[0].set_ylabel("count")
    figure.tight_layout()
    return figure, numbers


# --- anomalies, lines, sequences ----------------------------------------------------------

def reconstruction_errors(results: dict, run: str | None = None,
                          batch_size: int = 256) -> tuple[Figure, Numbers]:
    """The autoencoder's reconstruction errors on the test split, normal samples against the
    held-out class, beside the ROC curve; measured as the run's anomaly report measures them
    (threshold from training errors). Numbers: `roc_auc`, `anomaly_recall`,
    `false_alarm_rate`."""
    result = _run(results, run if run is not None else next(iter(results)))
    batch_size = arguments.positive_int("batch_size", batch_size)
    if "is_anomaly" not in result.data.test.info:
        raise arguments.fail("run", "a run on anomaly data (e.g. digits_anomaly)", run)
    measured = anomaly_report.separation(result.model, result.data, batch_size)
    scores, is_anomaly = measured.scores, measured.is_anomaly
    figure, (left, right) = plt.subplots(1, 2, figsize=(9.5, 3.8),
                                         gridspec_kw={"width_ratios": [1.5, 1]})
    plots.score_histogram(scores[~is_anomaly], scores[is_anomaly], measured.threshold,
                          anomaly_report.SCORE_NAME, axis=left)
    plots.roc_curve(measured.false_positive_rates, measured.true_positive_rates,
                    measured.area, axis=right)
    figure.tight_layout()
    return figure, measured.metrics()


def line_fit(results: dict, run: str | None = None) -> tuple[Figure, Numbers]:
    """The training points, the true line they were drawn about and the model's line. The
    learned slope and intercept are read from the model's predictions at x = 0 and 1, so any
    model of one input works. Numbers: learned and true slope and intercept."""
    result = _run(results, run if run is not None else next(iter(results)))
    extras = result.data.extras
    if "slope" not in extras or "intercept" not in extras:
        raise arguments.fail("run", "a run on the line data (true slope and intercept)", run)
    at = result.model.predict(np.array([[0.0], [1.0]], dtype=np.float32), verbose=0)
    intercept, slope = float(at[0, 0]), float(at[1, 0] - at[0, 0])
    true_slope, true_intercept = float(extras["slope"]), float(extras["intercept"])
    shown = result.data.train.head(MAX_POINTS)
    xs = np.array([shown.x.min(), shown.x.max()])
    figure, axis = plt.subplots(figsize=(5, 3.8))
    axis.scatter(shown.x[:, 0], shown.y.reshape(len(shown), -1)[:, 0], s=8, alpha=0.5,
                 color="gray", label="training points")
    axis.plot(xs, true_slope * xs + true_intercept, color="black", linestyle="--",
              label=f"true  y = {true_slope:.2f} x + {true_intercept:.2f}")
    axis.plot(xs, slope * xs + intercept, color="tab:red",
              label=f"learned  y = {slope:.2f} x + {intercept:.2f}")
    axis.set_xlabel("x")
    axis.set_ylabel("y")
    axis.legend(fontsize=8)
    axis.grid(alpha=0.3)
    figure.tight_layout()
    return figure, {"learned_slope": slope, "learned_intercept": intercept,
                    "true_slope": true_slope, "true_intercept": true_intercept}


# Names drawn for the cells, by the Keras layer class.
CELL_NAMES = {layer: name for name, layer in RECURRENT_LAYERS.items()}


def recurrent_cell(model: keras.Model) -> str:
    """The model's recurrent cell ("simple_rnn", "lstm", "gru"), read from its layers (a
    Bidirectional wrapper's inner layer counts)."""
    for layer in all_layers(model):
        if type(layer) in CELL_NAMES:
            return CELL_NAMES[type(layer)]
    raise arguments.fail("runs", "runs of recurrent models (SimpleRNN, LSTM or GRU)",
                         model.name)


def sequence_length(result) -> int:
    """The run's sequence length: its data's steps per sample."""
    x = result.data.test.x
    return int((x[0] if isinstance(x, tuple) else x).shape[1])


def sequence_lengths(results: dict, runs: Sequence[str] | None = None,
                     metric: str = "test_accuracy") -> tuple[Figure, Numbers]:
    """`metric` against sequence length, one line per recurrent cell. Each run's cell and
    length are read from its model and data, so runs may be named anything (the lessons
    name them like `lstm_40`). Numbers: `<run>_<metric without test_>`."""
    names = _runs(results, runs)
    curves: dict[str, list[tuple[int, float]]] = {}
    numbers = {}
    for name in names:
        result = results[name]
        if metric not in result.metrics:
            raise unknown_name(f"metric for run {name!r}", metric, result.metrics)
        value = float(result.metrics[metric])
        numbers[f"{name}_{metric.removeprefix('test_')}"] = value
        curves.setdefault(recurrent_cell(result.model), []).append(
            (sequence_length(result), value))
    figure, axis = plt.subplots(figsize=(5, 3.8))
    for cell, points in curves.items():
        lengths, values = zip(*sorted(points), strict=True)
        axis.plot(lengths, values, marker="o", label=cell)
    axis.set_xlabel("sequence length (steps)")
    axis.set_ylabel(metric.replace("_", " "))
    if "accuracy" in metric:
        axis.set_ylim(0, 1.02)
    axis.legend()
    axis.grid(alpha=0.3)
    figure.tight_layout()
    return figure, numbers


KINDS = {kind.__name__: kind for kind in (
    decision_boundaries, hidden_units, gradient_check, first_layer_filters, weight_histograms,
    reconstruction_errors, line_fit, sequence_lengths)}
