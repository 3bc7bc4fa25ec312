"""Optuna sweeps: search-space parsing, then real studies in real SQLite storages with real
worker processes, read back through Optuna and MlflowClient."""

from __future__ import annotations

from pathlib import Path

import mlflow
import optuna
import pytest

from kerazoo.config.recipe import load_recipe
from kerazoo.errors import KerazooError
from kerazoo.scale import search_space, sweep
from tests.conftest import run_cli
from tests.test_cli import assert_one_line_error

SPACE = ("--param", "model.dropout=uniform(0, 0.5)",
         "--param", "train.learning_rate=loguniform(1e-4, 1e-1)",
         "--param", "model.units=choice([64, 128, 256])")


@pytest.mark.parametrize("assignment, expected", [
    ("model.dropout=uniform(0, 0.5)", {"kind": "uniform", "low": 0.0, "high": 0.5}),
    ("train.learning_rate=loguniform(1e-4,1e-1)",
     {"kind": "loguniform", "low": 1e-4, "high": 0.1}),
    ("train.batch_size=int(16, 128, 16)", {"kind": "int", "low": 16, "high": 128, "step": 16}),
    ("model.units=choice([64, 128, 256])", {"kind": "choice", "choices": (64, 128, 256)}),
    # lists become YAML text for Optuna, which stores scalar choices only
    ("model.units=choice([[64], [128, 64]])",
     {"kind": "choice", "choices": ("[64]", "[128, 64]")}),
    ("model.activation=choice([relu, gelu])", {"kind": "choice", "choices": ("relu", "gelu")}),
])
def test_specs_parse(assignment, expected):
    parsed = search_space.parse(assignment)
    assert parsed.key == assignment.partition("=")[0]
    for field, value in expected.items():
        assert getattr(parsed, field) == value


def test_list_choices_come_back_as_lists():
    (choice,) = search_space.parse_all(["model.units=choice([[64], [128, 64]])"]).values()
    assert [search_space.from_choice(value) for value in choice.choices] == [[64], [128, 64]]


@pytest.mark.parametrize("assignment, fragment", [
    ("model.dropout=uniform(0.5, 0)", "LOW must be below HIGH"),
    ("model.dropout=normal(0, 1)", "unknown distribution 'normal'"),
    ("model.dropout=unifrom(0, 1)", "did you mean 'uniform'"),
    ("model.dropout=uniform(0)", "uniform takes 2 numbers"),
    ("train.learning_rate=loguniform(0, 1)", "loguniform needs LOW > 0"),
    ("train.batch_size=int(1.5, 8)", "int takes whole numbers"),
    ("model.units=choice(64, 128)", "choice takes one non-empty list"),
    ("model.units=choice([])", "choice takes one non-empty list"),
    ("model.dropout=uniform(a, b)", "LOW must be a finite number"),
    ("model.dropout", "expected a dotted recipe key"),
    # specs are data: nothing in them is ever evaluated
    ("model.dropout=__import__('os').system('true')", "unknown distribution '__import__'"),
    ("model.units=choice([!!python/object/apply:os.system [true]])", "cannot read"),
])
def test_bad_specs_are_one_line_errors_naming_the_accepted_forms(assignment, fragment):
    with pytest.raises(KerazooError) as caught:
        search_space.parse(assignment)
    message = str(caught.value)
    assert "\n" not in message
    assert fragment in message
    assert "uniform(LOW, HIGH)" in message and "choice([A, B, ...])" in message
    assert message.endswith(f"Received: {assignment!r}")


@pytest.mark.parametrize("trials, workers", [(20, 2), (5, 2), (3, 4), (1, 1), (7, 3)])
def test_trials_are_shared_exactly(trials, workers):
    counts = sweep.shares(trials, workers)
    assert sum(counts) == trials and min(counts) >= 1 and max(counts) - min(counts) <= 1


def test_recipe_sweep_section_and_command_line_merge(tmp_path):
    path = tmp_path / "tuned.yaml"
    path.write_text("""
name: tuned
experiment: digits
model: {name: mlp, units: [32]}
data: {name: digits}
sweep:
  metric: val_accuracy
  trials: 6
  workers: 2
  params:
    model.dropout: uniform(0, 0.3)
""")
    recipe = load_recipe(str(path))
    section, assignments = sweep.settings(recipe, ("train.learning_rate=loguniform(1e-3, 1e-2)",),
                                          None, 3, None, None)
    assert (section.metric, section.direction) == ("val_accuracy", "maximize")
    assert (section.trials, section.workers) == (6, 3)
    assert set(search_space.parse_all(assignments)) == {"model.dropout", "train.learning_rate"}
    section, _ = sweep.settings(recipe, (), None, None, "val_loss", None)
    assert section.direction == "minimize"


@pytest.mark.parametrize("params, metric, fragment", [
    (("model.dropuot=uniform(0, 0.5)",), None, "no argument 'dropuot'"),
    (("train.learning_rat=loguniform(1e-4, 1e-1)",), None, "train.learning_rat: unknown key"),
    (("model.dropout=uniform(0, 0.5)",), "val_acc", "did you mean 'val_accuracy'"),
    ((), None, "nothing to search"),
])
def test_mistakes_are_found_before_any_study_exists(params, metric, fragment):
    with pytest.raises(KerazooError, match=fragment):
        sweep.start("mlp_digits", (), params, smoke=True, metric=metric)
    assert not Path("mlruns/optuna.db").exists()


@pytest.mark.parametrize("args, fragments", [
    (["mlp_digits", "--param", "model.dropout=normal(0,1)"],
     ["--param model.dropout", "unknown distribution 'normal'"]),
    (["mlp_digits", "--trials", "0"], ["'--trials': 0 is not in the range"]),
    (["--join", "some-study"], ["--join some-study needs --trials N"]),
])
def test_command_line_mistakes_exit_2(args, fragments):
    assert_one_line_error(run_cli("sweep", *args), *fragments)


def test_join_names_the_studies_there_are(tmp_path):
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    optuna.create_study(storage=sweep.open_storage(url, create=True), study_name="digits-a")
    with pytest.raises(KerazooError, match="no study 'digits-b'.*did you mean 'digits-a'"):
        sweep.join("digits-b", url, trials=1)


def sweep_runs(client):
    experiment = client.get_experiment_by_name("digits-smoke")
    runs = client.search_runs([experiment.experiment_id], max_results=100)
    parents = [run for run in runs if run.data.tags.get("kerazoo.sweep.role") == "parent"]
    children = [run for run in runs if "mlflow.parentRunId" in run.data.tags]
    return parents, children


def test_two_workers_share_one_study_and_one_parent_run(client):
    trials = 4
    completed = run_cli("sweep", "mlp_digits", "--smoke", *SPACE, "--trials", str(trials),
                        "--workers", "2", "--study", "shared")
    assert completed.returncode == 0, completed.stderr + completed.stdout
    assert "[worker 0]" in completed.stdout and "[worker 1]" in completed.stdout

    study = optuna.load_study(study_name="shared", storage=sweep.DEFAULT_STORAGE)
    finished = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert sorted(trial.number for trial in finished) == list(range(trials))
    assert len({tuple(sorted(trial.params.items())) for trial in finished}) == trials

    (parent,), children = sweep_runs(client)
    assert len(children) == trials
    assert all(run.data.tags["mlflow.parentRunId"] == parent.info.run_id for run in children)
    assert all(run.info.status == "FINISHED" for run in [parent, *children])
    assert sorted(int(run.data.tags["kerazoo.sweep.trial"]) for run in children) == list(
        range(trials))
    # each trial's run is the one Optuna recorded, with the sampled values as its params
    by_run = {run.info.run_id: run for run in children}
    for trial in finished:
        run = by_run[trial.user_attrs["mlflow_run_id"]]
        assert float(run.data.params["model.dropout"]) == pytest.approx(
            trial.params["model.dropout"])
        assert run.data.metrics["val_loss"] == pytest.approx(trial.value)

    assert parent.data.metrics["best_val_loss"] == pytest.approx(study.best_value)
    assert parent.data.metrics["trials_complete"] == trials
    assert parent.data.tags["best.trial"] == str(study.best_trial.number)
    assert float(parent.data.tags["best.model.dropout"]) == pytest.approx(
        study.best_params["model.dropout"])
    plots = {item.path for item in client.list_artifacts(parent.info.run_id, "plots")}
    assert plots == {"plots/optimization_history.png", "plots/param_importances.png"}
    assert {"best_params.yaml", "recipe.yaml"} <= {
        item.path for item in client.list_artifacts(parent.info.run_id)}


def test_a_pruned_trial_ends_finished_and_tagged(client, tracking_uri):
    started = run_cli("sweep", "mlp_digits", "--smoke", "--set", "train.epochs=3",
                      "--param", "model.dropout=uniform(0, 0.5)", "--trials", "1",
                      "--study", "pruning")
    assert started.returncode == 0, started.stderr + started.stdout
    # A late joiner with a pruner that stops every trial after its first epoch (a real
    # Optuna pruner: any validation loss above 0 is pruned).
    summary = sweep.join("pruning", None, trials=1,
                         study_pruner=optuna.pruners.ThresholdPruner(upper=0.0))

    study = optuna.load_study(study_name="pruning", storage=sweep.DEFAULT_STORAGE)
    states = [trial.state for trial in study.trials]
    assert states == [optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED]
    pruned_run = client.get_run(study.trials[1].user_attrs["mlflow_run_id"])
    assert pruned_run.info.status == "FINISHED"
    assert pruned_run.data.tags["pruned"] == "true"
    assert [m.step for m in client.get_metric_history(pruned_run.info.run_id, "loss")] == [1]
    # the joiner came after the sweep ended, so it brought the parent's summary up to date
    assert summary["trials"] == {"complete": 1, "pruned": 1, "fail": 0}
    (parent,), _ = sweep_runs(mlflow.MlflowClient(tracking_uri))
    assert parent.data.metrics["trials_pruned"] == 1
    assert parent.info.status == "FINISHED"
