"""A real recipe run into a real SQLite store, read back through MlflowClient."""

from __future__ import annotations

import os
import signal

import keras
import mlflow
import numpy as np
import pytest

from kerazoo.config.recipe import load_recipe
from kerazoo.registry import callback_registry, register_callback
from kerazoo.tracking import serve as server
from kerazoo.training.runner import run_recipe

EPOCHS = 4


@pytest.fixture(scope="module")
def finished(tmp_path_factory, template_store):
    """One short mlp_digits run shared by the read-back tests (training is the slow part)."""
    import shutil

    directory = tmp_path_factory.mktemp("run")
    (directory / "mlruns").mkdir()
    shutil.copy(template_store, directory / "mlruns" / "mlflow.db")
    uri = f"sqlite:///{directory / 'mlruns' / 'mlflow.db'}"
    recipe = load_recipe("mlp_digits", [f"train.epochs={EPOCHS}"])
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(directory)
        result = run_recipe(recipe, tracking_uri=uri, verbose=0)
    return result, mlflow.MlflowClient(uri)


def test_run_finishes_with_params_tags_and_test_metrics(finished):
    result, client = finished
    run = client.get_run(result.run_id)
    assert run.info.status == "FINISHED"
    params = run.data.params
    assert params["model.name"] == "mlp" and params["train.epochs"] == str(EPOCHS)
    assert params["model.units"] == "[256, 128]"
    assert params["data_fingerprint.train_size"] == "1257"
    tags = run.data.tags
    assert tags["kerazoo.recipe"] == "mlp_digits"
    assert tags["kerazoo.backend"] == keras.backend.backend()
    assert tags["kerazoo.keras_version"] == keras.__version__
    assert len(tags["kerazoo.recipe_hash"]) == 16
    assert {"test_loss", "test_accuracy"} <= set(run.data.metrics)
    assert run.data.metrics["test_accuracy"] == pytest.approx(result.metrics["test_accuracy"])


@pytest.mark.parametrize("key", ["loss", "val_loss", "accuracy", "val_accuracy",
                                 "learning_rate"])
def test_one_metric_point_per_epoch(finished, key):
    result, client = finished
    history = client.get_metric_history(result.run_id, key)
    assert sorted(metric.step for metric in history) == list(range(1, EPOCHS + 1))
    if key in result.history:
        logged = [metric.value for metric in sorted(history, key=lambda m: m.step)]
        assert logged == pytest.approx(result.history[key])


def test_loss_decreased(finished):
    result, _ = finished
    assert result.history["loss"][-1] < result.history["loss"][0]


def test_artifacts_include_model_plot_and_recipe(finished):
    result, client = finished
    paths = {item.path for item in client.list_artifacts(result.run_id)}
    assert {"recipe.yaml", "recipe_file", "plots"} <= paths
    assert [item.path for item in client.list_artifacts(result.run_id, "plots")] == [
        "plots/learning_curves.png"]


def test_logged_model_predicts_the_same_classes(finished):
    result, client = finished
    mlflow.set_tracking_uri(client.tracking_uri)  # runs:/ URIs resolve against the global one
    loaded = mlflow.keras.load_model(f"runs:/{result.run_id}/mlp_digits")
    x = result.data.test.x
    expected = result.model.predict(x, verbose=0)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0).argmax(axis=1),
                                  expected.argmax(axis=1))
    pyfunc = mlflow.pyfunc.load_model(f"runs:/{result.run_id}/mlp_digits")
    assert pyfunc.metadata.signature is not None
    answers = pyfunc.predict(x)  # the digit's name and every class's probability
    assert answers["label"].tolist() == [str(digit) for digit in expected.argmax(axis=1)]
    assert list(answers["probabilities"][0]) == [str(digit) for digit in range(10)]
    np.testing.assert_allclose([list(row.values()) for row in answers["probabilities"]],
                               expected, rtol=1e-5, atol=1e-6)


def test_logged_model_is_named_after_the_recipe(finished):
    result, client = finished
    run = client.get_run(result.run_id)
    (model,) = client.search_logged_models(
        [run.info.experiment_id], filter_string=f"source_run_id = '{result.run_id}'")
    assert model.name == "mlp_digits"
    mlflow.set_tracking_uri(client.tracking_uri)
    assert server.model_uri(result.run_id) == f"runs:/{result.run_id}/mlp_digits"


class Explode(keras.callbacks.Callback):
    def __init__(self, error: str = "boom"):
        super().__init__()
        self.error = error

    def on_epoch_end(self, epoch, logs=None):
        if epoch == 0:
            return
        if self.error == "interrupt":
            raise KeyboardInterrupt
        raise RuntimeError(self.error)


@pytest.fixture
def exploding_callback(monkeypatch):
    monkeypatch.setattr(callback_registry, "_entries", dict(callback_registry._entries))
    register_callback(Explode, name="explode")


@pytest.mark.parametrize("error, status", [("boom", "FAILED"), ("interrupt", "KILLED")])
def test_a_run_that_raises_ends_failed_or_killed(exploding_callback, client, error, status):
    recipe = load_recipe("mlp_digits", [f"callbacks=[{{name: explode, error: {error}}}]",
                                        "train.epochs=2"], smoke=True)
    with pytest.raises((RuntimeError, KeyboardInterrupt)):
        run_recipe(recipe, verbose=0)
    (run,) = client.search_runs([client.get_experiment_by_name("digits").experiment_id])
    assert run.info.status == status
    if status == "FAILED":
        assert run.data.tags["kerazoo.error"] == "RuntimeError: boom"
    # the first epoch's metrics reached the store before the run ended
    assert [m.step for m in client.get_metric_history(run.info.run_id, "loss")] == [1]


def test_a_mistake_found_before_training_creates_no_run(client):
    from kerazoo.errors import KerazooError

    recipe = load_recipe("mlp_digits", ["model.dropout=1.5"], smoke=True)
    with pytest.raises(KerazooError, match="dropout"):
        run_recipe(recipe, verbose=0)
    assert client.search_runs([e.experiment_id for e in client.search_experiments()]) == []


def test_a_nan_loss_stops_training_and_ends_failed_with_the_reason(client, capsys):
    from kerazoo.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["run", "mlp_digits", "--smoke", "--quiet", "--set", "train.optimizer=sgd",
              "--set", "train.learning_rate=1e12", "--set", "train.epochs=3"])
    assert exit_info.value.code == 1
    stderr = capsys.readouterr().err.strip().splitlines()
    assert stderr == ["kerazoo: run failed: loss became nan in epoch 1; try a smaller "
                      "train.learning_rate"]
    (run,) = client.search_runs([client.get_experiment_by_name("digits-smoke").experiment_id])
    assert run.info.status == "FAILED"
    assert run.data.tags["kerazoo.error"].startswith("TrainingDiverged: loss became nan")


class SignalThenFail(keras.callbacks.Callback):
    """Ctrl-C at the third epoch's first batch end, and the epoch then ends in an error.
    (With several steps a compiled call, that batch end may come after the epoch's last
    step: the recipe's steps_per_execution decides.)"""

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        self.signalled = False

    def on_train_batch_end(self, batch, logs=None):
        if self.epoch == 2 and not self.signalled:
            self.signalled = True
            os.kill(os.getpid(), signal.SIGINT)

    def on_epoch_end(self, epoch, logs=None):
        if epoch == 2:
            raise RuntimeError("the epoch's end failed")


def test_ctrl_c_that_waited_for_an_epoch_ending_in_an_error_still_stops_the_run(client):
    # The smoke epochs take milliseconds, so the third one is finished before Ctrl-C acts;
    # it ends in an error instead, and the run must still end as the user asked: KILLED.
    recipe = load_recipe("mlp_digits", ["train.epochs=5"], smoke=True)
    with pytest.raises(KeyboardInterrupt, match="SIGINT") as raised:
        run_recipe(recipe, verbose=0, extra_callbacks=[SignalThenFail()])
    assert isinstance(raised.value.__cause__, RuntimeError)
    (run,) = client.search_runs([client.get_experiment_by_name("digits").experiment_id])
    assert run.info.status == "KILLED"
