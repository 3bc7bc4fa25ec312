"""The course's figure kinds on tiny real Keras models: each draws, and its numbers are what
the models and data say they are."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from matplotlib.figure import Figure

from kerazoo import build, plots
from kerazoo.course import pictures
from kerazoo.data import load_data
from kerazoo.errors import KerazooError
from kerazoo.runner import RunResult


def result(model, data, metrics=None) -> RunResult:
    return RunResult(run_id=None, metrics=metrics or {}, history={}, model=model, data=data)


def trained(model, data, epochs=3, loss="sparse_categorical_crossentropy"):
    keras.utils.set_random_seed(0)
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss=loss)
    model.fit(data.train.x, data.train.y, epochs=epochs, batch_size=32, verbose=0)
    return model


def assert_draws(figure, tmp_path):
    assert isinstance(figure, Figure)
    path = tmp_path / "figure.png"
    plots.save(figure, path)
    assert path.stat().st_size > 1000


@pytest.fixture(scope="module")
def moons():
    return load_data("planar", shape="moons", samples=200, noise=0.1)


@pytest.fixture(scope="module")
def moons_runs(moons):
    keras.utils.set_random_seed(0)
    return {"logistic": result(trained(build("logistic_regression", input_shape=(2,),
                                             num_classes=2), moons), moons),
            "mlp": result(trained(build("mlp", input_shape=(2,), units=[8, 6], num_classes=2),
                                  moons), moons)}


def test_decision_boundaries_score_every_panel(moons_runs, moons, tmp_path):
    figure, numbers = pictures.decision_boundaries(moons_runs, tree_depth=3, grid_steps=20)
    assert len(figure.axes) == 3
    assert_draws(figure, tmp_path)
    model = moons_runs["mlp"].model
    predicted = model.predict(moons.validation.x, verbose=0).argmax(axis=1)
    assert numbers["mlp_val_accuracy"] == pytest.approx((predicted == moons.validation.y).mean())
    assert 0.5 < numbers["decision_tree_val_accuracy"] <= 1
    assert numbers["decision_tree_depth"] == 3 and numbers["decision_tree_leaves"] <= 8
    assert set(numbers) == {"logistic_val_accuracy", "mlp_val_accuracy",
                            "decision_tree_val_accuracy", "decision_tree_depth",
                            "decision_tree_leaves"}
    with pytest.raises(KerazooError, match=r"unknown run for `runs` 'mpl' \(did you mean 'mlp'"):
        pictures.decision_boundaries(moons_runs, runs=["mpl"])


def test_hidden_units_first_and_last_layer(moons_runs, tmp_path):
    figure, numbers = pictures.hidden_units(moons_runs, run="mlp", grid_steps=12)
    assert numbers["first_units"] == 8 and numbers["last_units"] == 6
    assert 0 <= numbers["first_dead_fraction"] <= 1
    assert_draws(figure, tmp_path)
    layers = pictures.hidden_representations(moons_runs["mlp"].model)
    assert [layer.name for layer in layers] == ["relu_0", "relu_1"]
    with pytest.raises(KerazooError, match="hidden Dense layer"):
        pictures.hidden_units(moons_runs, run="logistic")


def test_gradient_check_agrees_to_1e_4(moons, tmp_path):
    keras.utils.set_random_seed(1)
    model = build("mlp", input_shape=(2,), units=[6, 5], activation="tanh", num_classes=2)
    model.compile(loss="sparse_categorical_crossentropy")
    figure, numbers = pictures.gradient_check({"small": result(model, moons)}, batch_size=16,
                                              entries=12)
    assert numbers["max_relative_error"] <= 1e-4
    assert set(numbers) == {"max_relative_error", "dense_0_kernel_relative_error",
                            "dense_0_bias_relative_error", "dense_1_kernel_relative_error",
                            "dense_1_bias_relative_error", "probabilities_kernel_relative_error",
                            "probabilities_bias_relative_error"}
    assert_draws(figure, tmp_path)


def test_gradient_check_notices_a_wrong_gradient(moons):
    """The check has teeth: finite differences of a different loss disagree."""
    model = build("mlp", input_shape=(2,), units=[4], num_classes=2)
    model.compile(loss="sparse_categorical_crossentropy")
    batch = moons.train.head(8)
    wrong = 1 - batch.y  # the other class: another loss, another gradient
    right = pictures.gradient_errors(model, batch.x, batch.y, entries=4)
    values = pictures.autodiff_gradients(lambda v: keras.ops.sum(v[0] ** 2), [np.ones(3)])
    np.testing.assert_allclose(values[0], 2 * np.ones(3))
    assert max(right.values()) <= 1e-4
    assert pictures.gradient_errors(model, batch.x, wrong, entries=4) != right


def test_weight_histograms_count_near_zero_weights(moons_runs, tmp_path):
    model = build("mlp", input_shape=(2,), units=[4], num_classes=2)
    kernel, bias, output_kernel, output_bias = model.get_weights()
    kernel[:] = 1.0
    kernel[0] = 0.0  # 4 of the 8 first-layer weights
    output_kernel[:] = 0.001
    model.set_weights([kernel, bias, output_kernel, output_bias])
    runs = {"sparse": result(model, moons_runs["mlp"].data), **moons_runs}
    figure, numbers = pictures.weight_histograms(runs, runs=["sparse", "mlp"])
    assert numbers["sparse_near_zero_fraction"] == pytest.approx(12 / 16)
    assert numbers["sparse_weight_norm"] == pytest.approx(np.sqrt(4 + 8 * 1e-6))
    assert set(numbers) == {"sparse_near_zero_fraction", "sparse_weight_norm",
                            "mlp_near_zero_fraction", "mlp_weight_norm"}
    assert_draws(figure, tmp_path)


def test_first_layer_filters(tmp_path):
    data = load_data("shapes", samples=40, image_size=16)
    model = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Conv2D(5, 3),
                              keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(4)])
    figure, numbers = pictures.first_layer_filters({"cnn": result(model, data)})
    assert numbers == {"filters": 5, "kernel_height": 3, "kernel_width": 3}
    assert_draws(figure, tmp_path)
    with pytest.raises(KerazooError, match="Conv2D"):
        pictures.first_layer_filters({"dense": result(build("mlp", input_shape=(2,)), data)})


def test_reconstruction_errors_auc_matches_the_scores(tmp_path):
    data = load_data("digits_anomaly").head(train=200, validation=20, test=120)
    model = build("denoising_autoencoder", input_shape=(64,), units=[16, 4])
    trained(model, data, epochs=2, loss="mean_squared_error")
    figure, numbers = pictures.reconstruction_errors({"dae": result(model, data)})
    scores = np.square(model.predict(data.test.x, verbose=0) - data.test.x).mean(axis=1)
    from sklearn.metrics import roc_auc_score
    assert numbers["roc_auc"] == pytest.approx(roc_auc_score(data.test.info["is_anomaly"],
                                                             scores), abs=1e-6)
    assert set(numbers) == {"roc_auc", "anomaly_recall", "false_alarm_rate"}
    assert_draws(figure, tmp_path)


def test_line_fit_reads_the_learned_line():
    data = load_data("line", slope=-2.0, intercept=0.5, samples=40)
    model = build("linear_regression", input_shape=(1,))
    model.set_weights([np.array([[1.5]], np.float32), np.array([0.25], np.float32)])
    figure, numbers = pictures.line_fit({"line": result(model, data)})
    assert numbers == pytest.approx({"learned_slope": 1.5, "learned_intercept": 0.25,
                                     "true_slope": -2.0, "true_intercept": 0.5})
    plots.close(figure)


def test_sequence_lengths_reads_cell_and_length(tmp_path):
    runs = {}
    for cell, length, accuracy in [("lstm", 10, 0.9), ("lstm", 20, 0.8), ("gru", 10, 0.95)]:
        data = load_data("temporal_order", samples=80, length=length)
        model = build(f"{cell}_classifier", input_shape=(length,), vocabulary_size=7,
                      embedding_dim=2, units=[2], num_classes=8)
        runs[f"{cell}_{length}"] = result(model, data, {"test_accuracy": accuracy})
    figure, numbers = pictures.sequence_lengths(runs)
    assert numbers == {"lstm_10_accuracy": 0.9, "lstm_20_accuracy": 0.8, "gru_10_accuracy": 0.95}
    lines = {line.get_label(): line.get_xydata().tolist() for line in figure.axes[0].lines}
    assert lines == {"lstm": [[10, 0.9], [20, 0.8]], "gru": [[10, 0.95]]}
    assert_draws(figure, tmp_path)
    with pytest.raises(KerazooError, match=r"unknown metric for run 'lstm_10' 'test_acuracy'"):
        pictures.sequence_lengths(runs, metric="test_acuracy")


def test_every_kind_is_listed():
    assert set(pictures.KINDS) == {"decision_boundaries", "hidden_units", "gradient_check",
                                   "first_layer_filters", "weight_histograms",
                                   "reconstruction_errors", "line_fit", "sequence_lengths"}
