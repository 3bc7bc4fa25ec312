"""After training ends (issue 19, items 1 and 13): a signal at any later moment finishes the
run or leaves it KILLED with every epoch's metrics and a state `--resume` finishes, never a
traceback; and the `kerazoo` process ends right after its last line, without the
interpreter's teardown. Real processes, real signals, a real store; each moment is found by
reading the process's output, never by the clock."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import mlflow
import pytest

from kerazoo.training.checkpoint import saved_epoch

EPOCHS = 3
RECIPE = ["mlp_digits", "--smoke", "--set", f"train.epochs={EPOCHS}"]
PER_EPOCH = ("loss", "val_loss", "accuracy", "val_accuracy", "learning_rate")
# The `kerazoo` command, with an atexit callback that leaves a mark: the interpreter's
# teardown (atexit, TensorFlow's) runs only if the mark appears.
COMMAND = """
import atexit, pathlib, sys
atexit.register(lambda: pathlib.Path("teardown-ran").write_text("yes"))
from kerazoo.cli import main
sys.argv[0] = "kerazoo"
main()
"""


def start(*arguments: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", COMMAND, "run", *arguments],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=os.environ.copy())


def signal_after(process: subprocess.Popen, moment: str) -> tuple[str, str]:
    """Send SIGINT once `moment` has come: the last epoch's progress line (the one after
    `Epoch N/N`), the "finished" line, or the last line; returns stdout and stderr."""
    seen, last_epoch = [], False
    for line in process.stdout:
        seen.append(line)
        if moment == "last epoch" and last_epoch and "val_loss" in line \
                or moment == "finished" and " finished: " in line \
                or moment == "last line" and line.startswith("(serve that address"):
            process.send_signal(signal.SIGINT)
            break
        last_epoch = last_epoch or line.startswith(f"Epoch {EPOCHS}/{EPOCHS}")
    stdout, stderr = process.communicate(timeout=300)
    return "".join(seen) + stdout, stderr


def assert_no_traceback(stderr: str) -> None:
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr


def assert_every_epoch_once(client, run_id: str) -> None:
    for key in PER_EPOCH:
        steps = sorted(m.step for m in client.get_metric_history(run_id, key))
        assert steps == list(range(1, EPOCHS + 1)), (key, steps)


def assert_finished_with_model(client, run_id: str) -> None:
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.outputs.model_outputs, "no model logged"
    assert "test_accuracy" in run.data.metrics
    assert_every_epoch_once(client, run_id)


def only_run(client):
    (run,) = client.search_runs([client.get_experiment_by_name("digits-smoke").experiment_id])
    return run


@pytest.mark.parametrize("moment", [
    "last epoch",
    pytest.param("finished", marks=pytest.mark.slow),
    pytest.param("last line", marks=pytest.mark.slow),
])
def test_a_signal_after_training_finishes_the_run_or_leaves_it_resumable(tmp_path, moment):
    process = start(*RECIPE)
    _, stderr = signal_after(process, moment)
    assert_no_traceback(stderr)
    assert not (tmp_path / "teardown-ran").exists()
    client = mlflow.MlflowClient()
    run = only_run(client)
    if run.info.status == "FINISHED":  # the signal came once nothing was left to stop
        assert process.returncode in (0, 130), stderr
        assert_finished_with_model(client, run.info.run_id)
        assert not (tmp_path / "mlruns" / "runs" / run.info.run_id).exists()
        return
    assert (run.info.status, process.returncode) == ("KILLED", 130), stderr
    assert stderr.strip().splitlines()[-1] == "kerazoo: interrupted"
    assert_every_epoch_once(client, run.info.run_id)
    backup = tmp_path / "mlruns" / "runs" / run.info.run_id / "backup"
    assert saved_epoch(backup) == EPOCHS  # training was over: nothing left to train

    resumed = start(*RECIPE, "--resume", run.info.run_id)
    _, stderr = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, stderr
    assert_no_traceback(stderr)
    assert_finished_with_model(client, run.info.run_id)
    assert not backup.exists()  # the state goes once the run FINISHED


def test_the_process_ends_after_its_last_line_without_teardown(tmp_path):
    process = start(*RECIPE, "--quiet")
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    assert stdout.splitlines()[-1].startswith("(serve that address")
    # Nothing ran after that line: no atexit callback, so no teardown of TensorFlow or
    # MLflow either; and nothing was lost by skipping it.
    assert not (tmp_path / "teardown-ran").exists()
    assert_finished_with_model(mlflow.MlflowClient(), only_run(mlflow.MlflowClient()).info.run_id)


def test_an_interrupted_process_ends_after_saying_so_without_teardown(tmp_path):
    process = start("mlp_digits", "--smoke", "--set", "train.epochs=1000")
    for line in process.stdout:
        if line.startswith("Epoch 3/"):
            process.send_signal(signal.SIGINT)
            break
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 130
    assert stderr.strip().splitlines()[-1] == "kerazoo: interrupted"
    assert_no_traceback(stderr)
    assert not (tmp_path / "teardown-ran").exists()
    assert only_run(mlflow.MlflowClient()).info.status == "KILLED"
