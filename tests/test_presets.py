"""The registry as presets, and what MLflow's views show of a run: real runs into a real
SQLite store, read back through MlflowClient, `kerazoo.load` and the CLI."""

from __future__ import annotations

import contextlib
import io
import re

import mlflow
import numpy as np
import pytest

import kerazoo
from kerazoo.config.recipe import load_recipe
from kerazoo.errors import KerazooError
from kerazoo.training.runner import run_recipe

# Full digits data, few epochs: a registered (non-smoke) run in about a second. A learning
# rate of 1e-6 leaves the network near chance, so the runs are ordered worse, better, worse
# whatever the machine.
WORSE = ["train.epochs=1", "train.learning_rate=0.000001"]
BETTER = ["train.epochs=2"]


def in_process_cli(*args: str) -> tuple[int, str, str]:
    """`kerazoo ARGS` in this process: its exit status, stdout and stderr."""
    from kerazoo.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(list(args))
        except SystemExit as exit_info:
            code = exit_info.code or 0
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def registry(tmp_path_factory, template_store):
    """Three registered mlp_digits runs, worse, better, worse, in one store."""
    import shutil

    directory = tmp_path_factory.mktemp("registry")
    (directory / "mlruns").mkdir()
    shutil.copy(template_store, directory / "mlruns" / "mlflow.db")
    uri = f"sqlite:///{directory / 'mlruns' / 'mlflow.db'}"
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(directory)
        results = [run_recipe(load_recipe("mlp_digits", overrides), tracking_uri=uri,
                              verbose=0) for overrides in (WORSE, BETTER, WORSE)]
    return results, uri


@pytest.fixture
def registry_store(registry, monkeypatch):
    """The registry's store as the tracking store of this test."""
    results, uri = registry
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)
    return results, mlflow.MlflowClient(uri)


def test_best_moves_only_when_a_newer_run_beats_it(registry_store):
    results, client = registry_store
    accuracies = [result.metrics["test_accuracy"] for result in results]
    assert accuracies[1] > max(accuracies[0], accuracies[2])
    assert [(r.registered.version, r.registered.best_version) for r in results] == [
        ("1", "1"), ("2", "2"), ("3", "2")]
    best = client.get_model_version_by_alias("mlp_digits", "best")
    assert str(best.version) == "2" and best.run_id == results[1].run_id


def test_versions_are_named_after_the_recipe_with_a_model_card(registry_store):
    results, client = registry_store
    version = client.get_model_version("mlp_digits", "2")
    run = client.get_run(results[1].run_id)
    logged = client.get_logged_model(run.outputs.model_outputs[0].model_id)
    assert version.source == f"models:/{logged.model_id}"
    card = version.description
    parameters = results[1].model.count_params()
    for expected in ("recipe: mlp_digits", "data: digits (1,257 train, 270 validation, 270 "
                     "test)", "seed: 42", f"parameters: {parameters:,}",
                     f"test_accuracy = {results[1].metrics['test_accuracy']:.4f} (floor >= 0.97)",
                     f"#/experiments/{run.info.experiment_id}/runs/{run.info.run_id}"
                     "?workflowType=machine_learning"):
        assert expected in card
    info = kerazoo.model_info("mlp")
    assert version.tags["task"] == info.task == "classification"
    assert version.tags["input_kind"] == info.input_kind


def test_experiment_is_tagged_for_model_training(registry_store):
    _, client = registry_store
    experiment = client.get_experiment_by_name("digits")
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"


def test_an_existing_experiment_without_a_kind_gets_one(client):
    from kerazoo.tracking import runs as tracking

    made_earlier = client.create_experiment("digits")
    assert tracking.experiment_id("digits") == made_earlier
    assert client.get_experiment(made_earlier).tags["mlflow.experimentKind"] == \
        "custom_model_development"


def test_load_by_name_and_by_uri_returns_the_trained_model(registry_store):
    results, _ = registry_store
    better = results[1]
    x = better.data.test.x
    expected = better.model.predict(x, verbose=0)
    run = mlflow.MlflowClient().get_run(better.run_id)
    logged = mlflow.MlflowClient().get_logged_model(run.outputs.model_outputs[0].model_id)
    for name_or_uri in ("mlp_digits", "models:/mlp_digits/2",
                        f"runs:/{better.run_id}/{logged.name}"):
        loaded = kerazoo.load(name_or_uri)
        np.testing.assert_allclose(loaded.predict(x, verbose=0), expected, atol=1e-6)


def test_load_of_an_unknown_name_names_it_and_the_registered_ones(registry_store):
    with pytest.raises(KerazooError, match=r"no registered model 'mlp_digitz'.*registered: "
                                           r"mlp_digits"):
        kerazoo.load("mlp_digitz")


def test_models_lists_each_recipe_with_its_best_version(registry_store):
    results, _ = registry_store
    code, out, err = in_process_cli("models")
    assert code == 0, err
    header, row = out.strip().splitlines()
    assert header.split() == ["model", "best", "metric", "value", "run", "versions"]
    assert row.split() == ["mlp_digits", "version", "2", "test_accuracy",
                           f"{results[1].metrics['test_accuracy']:.4f}", results[1].run_id,
                           "3"]


def test_models_never_creates_a_store(tmp_path):
    store = tmp_path / "empty" / "mlflow.db"
    code, out, _ = in_process_cli("models", "--tracking-uri", f"sqlite:///{store}")
    assert code == 0 and out.startswith("no registered models yet")
    assert not store.parent.exists()


def test_the_run_shows_its_datasets_params_and_description(registry_store):
    results, client = registry_store
    run = client.get_run(results[1].run_id)
    inputs = {item.tags[0].value: item.dataset for item in run.inputs.dataset_inputs}
    assert sorted(inputs) == ["testing", "training", "validation"]
    digest = run.data.params["data_fingerprint.sha256"]
    assert {dataset.name for dataset in inputs.values()} == {
        "digits-train", "digits-validation", "digits-test"}
    assert {dataset.digest for dataset in inputs.values()} == {digest}
    assert "load_digits" in inputs["training"].source
    params = run.data.params
    assert params["model.parameters"] == str(results[1].model.count_params())
    assert params["train.loss"] == "sparse_categorical_crossentropy"
    assert params["optimizer.beta_1"] == "0.9" and "optimizer.name" not in params
    assert "None" not in params.values()
    assert not [key for key in params if key.startswith("smoke.")]
    assert run.data.tags["mlflow.note.content"].startswith("ReLU MLP")


def test_the_logged_model_carries_the_final_metrics(registry_store):
    results, client = registry_store
    run = client.get_run(results[1].run_id)
    logged = client.get_logged_model(run.outputs.model_outputs[0].model_id)
    metrics = {metric.key: metric for metric in logged.metrics}
    assert metrics["test_accuracy"].value == pytest.approx(results[1].metrics["test_accuracy"])
    assert metrics["test_accuracy"].dataset_name == "digits-test"


def test_run_ends_naming_experiment_ui_address_and_make_ui(client):
    code, out, err = in_process_cli("run", "mlp_digits", "--quiet", "--no-register",
                                    "--set", "train.epochs=1")
    assert code == 0, err
    (run,) = client.search_runs([client.get_experiment_by_name("digits").experiment_id])
    experiment = run.info.experiment_id
    assert out.strip().splitlines()[-3:] == [
        f"experiment: digits (id {experiment})",
        f"run: http://127.0.0.1:5000/#/experiments/{experiment}/runs/{run.info.run_id}"
        "?workflowType=machine_learning",
        "(serve that address with `make ui`)"]
    assert client.search_registered_models() == []  # --no-register


def test_smoke_runs_go_to_their_own_experiment_unregistered(client):
    result = run_recipe(load_recipe("mlp_digits", smoke=True), smoke=True, verbose=0)
    assert result.experiment == "digits-smoke" and result.registered is None
    assert client.get_run(result.run_id).info.experiment_id == \
        client.get_experiment_by_name("digits-smoke").experiment_id
    assert client.get_experiment_by_name("digits") is None
    assert client.search_registered_models() == []


def test_a_deleted_experiment_is_an_error_not_restored(client):
    experiment = client.create_experiment("digits-smoke")
    client.delete_experiment(experiment)
    code, out, err = in_process_cli("run", "mlp_digits", "--smoke", "--quiet")
    assert code == 2
    (line,) = err.strip().splitlines()
    assert re.fullmatch(
        rf"kerazoo: error: experiment 'digits-smoke' \(id {experiment}\) was deleted; restore "
        rf"it with `mlflow experiments restore --experiment-id {experiment}` or choose another "
        r"with --set experiment=NAME", line)
    assert client.get_experiment(experiment).lifecycle_stage == "deleted"
    assert client.search_runs([experiment], run_view_type=mlflow.entities.ViewType.ALL) == []
