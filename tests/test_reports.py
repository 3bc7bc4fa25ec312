"""Task reports on small real models and hand-made data whose right answers are known."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score

import kerazoo
from kerazoo.callbacks.model_parts import all_layers
from kerazoo.data.splits import DataSplits, Split
from kerazoo.reports import (
    ReportContext,
    applicable,
    classification,
    epoch_callbacks,
    forecasting,
    language_model,
    write_reports,
)
from kerazoo.reports.context import PREDICTION_BYTES_PER_CALL, predict_in_batches, rows_per_call


def splits(test: Split, train: Split | None = None, **extras) -> DataSplits:
    train = train or test
    return DataSplits("handmade", "test", train, train, test, extras=extras)


def zero_output_autoencoder(size: int) -> keras.Model:
    """Reconstructs every input as zeros: its error is the input's mean square."""
    inputs = keras.Input((size,))
    outputs = keras.layers.Dense(size, kernel_initializer="zeros",
                                 bias_initializer="zeros")(inputs)
    return keras.Model(inputs, outputs)


def last_value_forecaster(window: int, features: int, horizon: int) -> keras.Model:
    """Repeats the window's last target value: the naive forecast as a Keras model."""
    inputs = keras.Input((window, features))
    last = keras.layers.Lambda(lambda x: x[:, -1:, 0])(inputs)
    outputs = keras.layers.Lambda(lambda x: keras.ops.repeat(x, horizon, axis=1))(last)
    return keras.Model(inputs, outputs)


# --- choosing reports ------------------------------------------------------------------------

def test_reports_are_chosen_by_task_and_data():
    flat = Split(np.random.default_rng(0).random((6, 16), dtype=np.float32),
                 np.zeros((6, 16), np.float32))
    model = zero_output_autoencoder(16)
    plain = ReportContext(model, splits(flat), "reconstruction")
    assert applicable(plain) == ["reconstructions"]
    flat.info["is_anomaly"] = np.array([0, 0, 0, 0, 1, 1], bool)
    assert applicable(plain) == ["reconstructions", "anomaly_detection"]
    flat.info["is_anomaly"][:] = False  # no anomaly in the test split: no ROC to draw
    assert applicable(plain) == ["reconstructions"]
    assert applicable(ReportContext(model, splits(flat), "regression")) == []
    assert epoch_callbacks("classification") == []
    assert isinstance(epoch_callbacks("language_model")[0], language_model.BitsPerCharacter)


# --- classification ------------------------------------------------------------------------

def test_confusion_counts_and_balanced_accuracy(tmp_path):
    keras.utils.set_random_seed(0)
    model = kerazoo.build("mlp", input_shape=(4,), units=[8], num_classes=3)
    x = np.random.default_rng(1).normal(size=(60, 4)).astype(np.float32)
    y = np.arange(60) % 3
    context = ReportContext(model, splits(Split(x, y), class_names=["a", "b", "c"]),
                            "classification")
    output = classification.write(context, tmp_path)
    predicted = model.predict(x, verbose=0).argmax(axis=1)
    assert output.metrics["balanced_accuracy"] == pytest.approx(
        balanced_accuracy_score(y, predicted))
    rows = (tmp_path / "confusion_matrix.csv").read_text().splitlines()
    assert rows[0] == "true \\ predicted,a,b,c"
    counts = np.array([[int(v) for v in row.split(",")[1:]] for row in rows[1:]])
    assert counts.sum() == 60 and counts.sum(axis=1).tolist() == [20, 20, 20]
    assert np.trace(counts) == (predicted == y).sum()
    assert (tmp_path / "confusion_matrix.png").stat().st_size > 0


def test_one_sigmoid_column_is_thresholded_at_one_half():
    probabilities = np.array([[0.2], [0.7], [0.5]])
    assert classification.predicted_classes(probabilities).tolist() == [0, 1, 0]


# --- anomaly detection ---------------------------------------------------------------------

def test_anomaly_report_finds_brighter_samples(tmp_path):
    generator = np.random.default_rng(0)
    normal = generator.uniform(0, 0.3, (80, 16)).astype(np.float32)
    bright = generator.uniform(0.7, 1.0, (20, 16)).astype(np.float32)
    test = Split(np.concatenate([normal[60:], bright]), np.concatenate([normal[60:], bright]),
                 {"is_anomaly": np.repeat([False, True], 20)})
    context = ReportContext(zero_output_autoencoder(16),
                            splits(test, Split(normal[:60], normal[:60])), "reconstruction")
    output = write_reports(context, tmp_path)
    assert output.metrics["test_roc_auc"] == 1.0
    assert output.metrics["test_anomaly_recall"] == 1.0  # far above the 99th percentile
    assert output.metrics["test_false_alarm_rate"] <= 0.1
    assert "report.anomaly_threshold" in output.params
    assert {"anomaly_scores.png", "roc_curve.png", "reconstructions.png"} <= {
        path.name for path in tmp_path.iterdir()}


# --- forecasting ---------------------------------------------------------------------------

def test_seasonal_naive_takes_the_value_whole_seasons_earlier():
    x = np.arange(30, dtype=np.float64).reshape(1, 30, 1)  # value = time step
    # window 30, season 4: future steps 30..35 take 26, 27, 28, 29, 30-8=22, 31-8=23
    np.testing.assert_array_equal(forecasting.seasonal_naive(x, 0, 6, 4),
                                  [[26, 27, 28, 29, 26, 27]])
    assert forecasting.seasonal_naive(x, 0, 6, 40) is None  # the window is too short


def test_forecast_report_in_series_units(tmp_path):
    generator = np.random.default_rng(0)
    x = generator.normal(size=(12, 48, 2)).astype(np.float32)
    y = generator.normal(size=(12, 6)).astype(np.float32)
    test = Split(x, y, {"last_value": x[:, -1, 0].copy(), "time": np.arange(12) + 48})
    data = splits(test, mean=100.0, std=10.0, target_feature=0, steps_per_day=24)
    output = forecasting.write(
        ReportContext(last_value_forecaster(48, 2, 6), data, "regression"), tmp_path)
    expected = 10.0 * np.abs(x[:, -1:, 0] - y).mean()  # std times the standardized error
    assert output.metrics["forecast_mae"] == pytest.approx(expected, rel=1e-5)
    assert output.metrics["last_value_mae"] == pytest.approx(expected, rel=1e-5)
    assert output.metrics["mae_vs_last_value"] == pytest.approx(1.0)
    seasonal = 10.0 * np.abs(x[:, 24:30, 0] - y).mean()
    assert output.metrics["seasonal_naive_mae"] == pytest.approx(seasonal, rel=1e-5)
    assert {"forecasts.png", "error_by_step.png"} <= {p.name for p in tmp_path.iterdir()}


# --- text ----------------------------------------------------------------------------------

def test_bits_per_character_is_the_loss_in_bits():
    logs = {"loss": 2.0, "val_loss": math.log(2)}
    language_model.BitsPerCharacter().on_epoch_end(0, logs)
    assert logs["bits_per_character"] == pytest.approx(2 / math.log(2))
    assert logs["val_bits_per_character"] == pytest.approx(1.0)


def text_context(vocabulary_size: int = 5) -> ReportContext:
    keras.utils.set_random_seed(0)
    model = kerazoo.build("char_rnn", vocabulary_size=vocabulary_size, embedding_dim=4,
                          units=[8], cell="gru")
    ids = np.array([[1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4]], np.int32)
    return ReportContext(model, splits(Split(ids, ids), vocabulary=["", "a", "\n", "b", "c"]),
                         "language_model", seed=3, test_metrics={"test_loss": math.log(2)})


def test_text_samples_start_at_a_line_of_the_test_text(tmp_path):
    context = text_context()
    output = write_reports(context, tmp_path)
    assert output.params["report.prompt"] == "bca\nbca\nbc"  # from the first line start
    assert output.metrics["test_bits_per_character"] == pytest.approx(1.0)
    text = (tmp_path / "text_samples.txt").read_text()
    for temperature in language_model.TEMPERATURES:
        assert f"=== temperature {temperature} ===\nbca\nbca\nbc" in text
    write_reports(context, tmp_path / "again")
    assert (tmp_path / "again" / "text_samples.txt").read_text() == text  # seeded


def test_a_failing_report_is_skipped_with_a_warning_unless_strict(tmp_path):
    context = text_context(vocabulary_size=6)  # one output more than the vocabulary has
    with pytest.raises(kerazoo.KerazooError, match="vocabulary"):
        write_reports(context, tmp_path, strict=True)
    with pytest.warns(UserWarning, match="report 'text_samples' failed"):
        output = write_reports(context, tmp_path, strict=False)
    assert output.metrics == {}


def test_predictions_in_calls_sized_by_the_layer_outputs():
    """A feed-forward model is called on as many rows as its layer outputs allow (all of
    them for a small MLP), a model whose outputs cannot be counted on training-size batches;
    either way the outputs are the model's own."""
    model = kerazoo.build("mlp", input_shape=(8,), units=(16,), num_classes=3)
    bytes_per_row = sum(4 * int(np.prod(layer.output.shape[1:])) for layer in all_layers(model))
    assert rows_per_call(model) == PREDICTION_BYTES_PER_CALL // bytes_per_row
    sequential = keras.Sequential([keras.layers.Dense(3)])  # no input: no output shapes
    assert rows_per_call(sequential) == 0
    x = np.random.default_rng(0).normal(size=(50, 8)).astype("float32")
    np.testing.assert_allclose(predict_in_batches(model, x, batch_size=7),
                               model.predict(x, verbose=0), rtol=1e-6)
    np.testing.assert_allclose(predict_in_batches(sequential, x, batch_size=7),
                               sequential.predict(x, verbose=0), rtol=1e-6)
