"""Every recipe of the repository runs with --smoke into a fresh MLflow store, and its run
holds what its task promises: learning curves, the task's report files and metrics, the
metric its quality floor names."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kerazoo.config.recipe import RECIPES_DIR, load_recipe
from kerazoo.data.splits import take
from kerazoo.errors import KerazooError
from kerazoo.registry import model_info
from kerazoo.tracking.runs import inputs_by_name
from kerazoo.training.runner import run_recipe
from tests.fresh_python import FreshPython

RECIPES = sorted(path.stem for path in RECIPES_DIR.glob("*.yaml"))

# Report files and test metrics by the model's registry task.
EXPECTED = {
    "classification": ({"confusion_matrix.png", "confusion_matrix.csv"},
                       {"test_accuracy", "test_balanced_accuracy"}),
    "language_model": ({"text_samples.txt"}, {"test_bits_per_character"}),
    "sequence_to_sequence": ({"decoded_examples.txt"}, {"test_exact_match"}),
    "reconstruction": ({"reconstructions.png"}, {"test_reconstruction_mse"}),
    "regression": ({"forecasts.png", "error_by_step.png"},
                   {"test_forecast_mae", "test_last_value_mae", "test_mae_vs_last_value"}),
}
ANOMALY = ({"anomaly_scores.png", "roc_curve.png"},
           {"test_roc_auc", "test_anomaly_recall", "test_false_alarm_rate"})


@pytest.fixture(scope="module")
def fresh_python(tmp_path_factory):
    worker = FreshPython(tmp_path_factory.mktemp("fresh_python"))
    yield worker
    worker.close()


def smoke_run(name: str):
    recipe = load_recipe(name, smoke=True)
    try:
        return recipe, run_recipe(recipe, smoke=True, verbose=0)
    except KerazooError as error:
        if "not found locally" in str(error):  # Fashion-MNIST and the like, when absent
            pytest.skip(str(error))
        raise


def test_every_family_has_a_recipe():
    families = {model_info(load_recipe(name).model.name).family for name in RECIPES}
    assert {"linear", "mlp", "alexnet", "char_rnn", "sequence_classifier", "forecaster",
            "seq2seq", "autoencoder"} <= families


@pytest.mark.parametrize("name", RECIPES)
def test_recipe_states_seed_quality_and_smoke(name):
    recipe = load_recipe(name)
    assert recipe.quality is not None and recipe.description
    text = recipe.source_path.read_text(encoding="utf-8")
    assert "seed:" in text
    assert "smoke:" in text or name in ("mlp_digits", "mlp_onecycle")  # tiny anyway


@pytest.mark.parametrize("name", RECIPES)
def test_smoke_run_logs_reports(name, client, fresh_python, tracking_uri, tmp_path):
    recipe, result = smoke_run(name)
    assert_logged_model_loads_anywhere(recipe, result, fresh_python, tracking_uri, tmp_path)
    run = client.get_run(result.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.tags["kerazoo.smoke"] == "true"

    task = model_info(recipe.model.name).task
    files, metrics = EXPECTED[task]
    if "is_anomaly" in result.data.test.info:
        files, metrics = files | ANOMALY[0], metrics | ANOMALY[1]
    if task == "regression" and "last_value" not in result.data.test.info:
        files, metrics = set(), {"test_mean_absolute_error"}  # ratings: no forecast to plot
    reports = {item.path.removeprefix("reports/")
               for item in client.list_artifacts(result.run_id, "reports")}
    assert files <= reports
    assert metrics <= set(run.data.metrics)
    assert all(math.isfinite(run.data.metrics[key]) for key in metrics)
    top = {item.path for item in client.list_artifacts(result.run_id)}
    assert {"plots", "recipe.yaml", *(["reports"] if files else [])} <= top

    quality = recipe.quality.metric
    assert quality in run.data.metrics, f"{name}'s floor names {quality}, never logged"


def assert_logged_model_loads_anywhere(recipe, result, fresh_python, tracking_uri, cwd):
    """The run's logged model, named after its recipe, loads in a process that never
    imported kerazoo, both ways, and predicts there what the trained model predicted here;
    a classifier's pyfunc answers with the class names and probabilities."""
    model = result.model
    inputs = inputs_by_name(model, take(result.data.test.x, slice(0, 8)))
    expected = np.asarray(model(inputs, training=False))
    report, answers = fresh_python.load_and_predict(
        f"runs:/{result.run_id}/{recipe.name}", tracking_uri, cwd,
        inputs if isinstance(inputs, dict) else {"x": inputs})
    assert report["kerazoo_modules"] == []
    assert report["model_class"].startswith("keras.")
    np.testing.assert_allclose(answers["keras"], expected, rtol=1e-5, atol=1e-6)
    # pyfunc predicts in batches of its own; under a mixed policy (alexnet_shapes trains in
    # bfloat16, 8 bits of mantissa) other batches round differently.
    mixed = model.dtype_policy.compute_dtype != "float32"
    tolerance = {"rtol": 1e-2, "atol": 1e-3} if mixed else {"rtol": 1e-5, "atol": 1e-6}
    if model_info(recipe.model.name).task == "classification":
        names = result.data.extras.get("class_names") or range(expected.shape[-1])
        names = [str(name) for name in names]
        assert answers["class_order"].tolist() == names
        # Labels must agree everywhere, and under a mixed policy wherever one class clearly
        # wins: a smoke-trained model's near ties may flip with that rounding.
        top_two = np.sort(expected, axis=1)[:, -2:]
        clear = (top_two[:, 1] - top_two[:, 0] > 10 * tolerance["atol"]) if mixed else (
            np.ones(len(expected), dtype=bool))
        labels = np.asarray(answers["labels"].tolist())
        assert labels[clear].tolist() == [names[i] for i in expected.argmax(axis=1)[clear]]
        np.testing.assert_allclose(answers["probabilities"], expected, **tolerance)
    else:
        np.testing.assert_allclose(answers["pyfunc"], expected, **tolerance)


def test_language_model_logs_bits_per_character_each_epoch(client):
    recipe = load_recipe("char_rnn", ["train.epochs=2"], smoke=True)
    result = run_recipe(recipe, smoke=True, verbose=0)
    for key in ("bits_per_character", "val_bits_per_character"):
        history = client.get_metric_history(result.run_id, key)
        assert sorted(point.step for point in history) == [1, 2]
    loss = result.history["val_loss"][-1]
    assert result.history["val_bits_per_character"][-1] == pytest.approx(loss / math.log(2))
    samples = client.download_artifacts(result.run_id, "reports/text_samples.txt")
    text = open(samples, encoding="utf-8").read()
    assert "temperature 0.5" in text and "temperature 1.0" in text
    assert client.get_run(result.run_id).data.params["report.prompt"] in text
