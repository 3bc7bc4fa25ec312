"""Interruption and resume with real signals, real subprocesses and a real store."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import pytest

from kerazoo.training.checkpoint import saved_epoch

EPOCHS = 40  # about 4 s of training: long enough to interrupt in the middle
RECIPE = ["mlp_digits", "--set", f"train.epochs={EPOCHS}"]


def start(*args: str) -> subprocess.Popen:
    return subprocess.Popen([str(Path(sys.executable).parent / "kerazoo"), "run", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=os.environ.copy())


def wait_for_epochs(process: subprocess.Popen, epochs: int) -> None:
    """Read the run's progress lines until `epochs` epochs have completed."""
    for line in process.stdout:
        if line.startswith(f"Epoch {epochs + 1}/"):
            return
    pytest.fail(f"the run ended before epoch {epochs + 1}: {process.communicate()}")


def interrupt_after(arguments: list[str], epochs: int, signal_number: int,
                    tmp_path: Path) -> tuple[subprocess.Popen, Path]:
    """Start a run, signal it once `epochs` epochs have completed, wait for it to end;
    returns the process and the run's local folder (mlruns/runs/RUN_ID)."""
    process = start(*arguments)
    wait_for_epochs(process, epochs)
    signalled_at = time.monotonic()
    process.send_signal(signal_number)
    process.communicate(timeout=30)
    assert time.monotonic() - signalled_at < 10
    (run_dir,) = (tmp_path / "mlruns" / "runs").iterdir()
    return process, run_dir


def final_metrics(run_id: str) -> dict[str, float]:
    run = mlflow.MlflowClient().get_run(run_id)
    return {k: v for k, v in run.data.metrics.items() if k.startswith("test_")}


@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGINT])
def test_signal_kills_the_run_and_resume_continues_it_exactly(tmp_path, signal_number):
    reference = start(*RECIPE)
    output = reference.communicate(timeout=300)
    assert reference.returncode == 0, output
    client = mlflow.MlflowClient()
    (reference_run,) = client.search_runs(
        [client.get_experiment_by_name("digits").experiment_id])

    interrupted, run_dir = interrupt_after(RECIPE, 3, signal_number, tmp_path)
    assert interrupted.returncode == 130
    run_id = run_dir.name
    run = client.get_run(run_id)
    assert run.info.status == "KILLED"
    # The state of the last completed epoch is on disk, whenever the last timed write was;
    # its metrics may already be logged if the signal came between the two.
    completed = len(client.get_metric_history(run_id, "loss"))
    assert 3 <= completed < EPOCHS
    assert saved_epoch(run_dir / "backup") in (completed, completed - 1)

    resumed = start(*RECIPE, "--resume", run_id)
    output = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, output
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    for key in ("loss", "val_loss", "accuracy", "learning_rate"):
        steps = [m.step for m in client.get_metric_history(run_id, key)]
        assert sorted(steps) == list(range(1, EPOCHS + 1)), key
    # Same seed on CPU: the resumed run ends exactly where the uninterrupted one did.
    assert final_metrics(run_id) == final_metrics(reference_run.info.run_id)
    reference_losses = [m.value for m in sorted(client.get_metric_history(
        reference_run.info.run_id, "val_loss"), key=lambda m: m.step)]
    resumed_losses = [m.value for m in sorted(client.get_metric_history(run_id, "val_loss"),
                                              key=lambda m: m.step)]
    assert resumed_losses == reference_losses


def test_resume_refuses_a_finished_run_and_a_changed_recipe(tmp_path):
    from tests.conftest import run_cli

    finished = run_cli("run", "mlp_digits", "--smoke", "--quiet")
    assert finished.returncode == 0, finished.stderr
    (run,) = mlflow.search_runs(experiment_names=["digits-smoke"], output_format="list")
    again = run_cli("run", "mlp_digits", "--smoke", "--quiet", "--resume", run.info.run_id)
    assert again.returncode == 2 and "already FINISHED" in again.stderr
    unknown = run_cli("run", "mlp_digits", "--smoke", "--quiet", "--resume", "f" * 32)
    assert unknown.returncode == 2 and "no run 'ffff" in unknown.stderr


def test_resume_refuses_other_settings_and_a_run_still_training(client):
    from kerazoo.config.recipe import load_recipe
    from kerazoo.errors import KerazooError
    from kerazoo.training.runner import resume_point

    recipe = load_recipe("mlp_digits", smoke=True)
    experiment = client.create_experiment("digits")
    run = client.create_run(experiment, tags={"kerazoo.recipe_hash": recipe.content_hash(),
                                              "kerazoo.smoke": "true",
                                              "kerazoo.host": __import__("socket").gethostname(),
                                              "kerazoo.pid": str(os.getpid())})
    with pytest.raises(KerazooError, match="is RUNNING in process"):
        resume_point(run.info.run_id, recipe, smoke=True)
    client.set_terminated(run.info.run_id, "KILLED")
    with pytest.raises(KerazooError, match="started with --smoke; resume it the same way"):
        resume_point(run.info.run_id, recipe, smoke=False)
    other = load_recipe("mlp_digits", ["train.epochs=7"], smoke=True)
    with pytest.raises(KerazooError, match="other training settings"):
        resume_point(run.info.run_id, other, smoke=True)
