"""A hard kill (SIGKILL: no handler runs) and then `--resume` leave every epoch's metrics in
the store exactly once (issue 19, item 2): the training state on disk never runs ahead of
the metrics logged. Killed twice, too. Real processes; each moment is found by reading the
progress lines and the backup's files, never by the clock."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import mlflow
import pytest

# Smoke epochs are short: enough of them for the state to be written a few times (the
# first write comes after 10 s of training).
EPOCHS = 3000
RECIPE = ["mlp_digits", "--smoke", "--set", f"train.epochs={EPOCHS}"]
PER_EPOCH = ("loss", "val_loss", "accuracy", "val_accuracy", "learning_rate")


def start(*arguments: str) -> subprocess.Popen:
    return subprocess.Popen([str(Path(sys.executable).parent / "kerazoo"), "run", *arguments],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=os.environ.copy())


def written_epoch(runs: Path) -> int | None:
    """The epoch of the training state on disk, if any (Keras' metadata file)."""
    for metadata in runs.glob("*/backup/training_metadata.json"):
        try:
            return int(json.loads(metadata.read_text())["epoch"])
        except (OSError, ValueError, KeyError):  # being replaced this instant
            return None
    return None


def kill_after_a_new_write(process: subprocess.Popen, runs: Path, after: int | None) -> int:
    """SIGKILL the run a few epochs after the state on disk has moved past `after`; returns
    that state's epoch."""
    epochs_since = None
    for line in process.stdout:
        if not line.startswith("Epoch "):
            continue
        epoch = written_epoch(runs)
        if epochs_since is None and epoch is not None and (after is None or epoch > after):
            epochs_since, seen = 0, epoch
        elif epochs_since is not None:
            epochs_since += 1
            if epochs_since == 5:  # metrics of epochs after the write are in the queue
                process.send_signal(signal.SIGKILL)
                process.communicate(timeout=60)
                return seen
    pytest.fail(f"the run ended before its state was written: {process.communicate()}")


@pytest.mark.slow
def test_after_hard_kills_and_resumes_every_epoch_is_logged_exactly_once(tmp_path):
    runs = tmp_path / "mlruns" / "runs"
    first = kill_after_a_new_write(start(*RECIPE), runs, None)
    (run_dir,) = runs.iterdir()
    run_id = run_dir.name
    client = mlflow.MlflowClient()
    logged = len(client.get_metric_history(run_id, "loss"))
    assert logged >= first  # the state on disk is never ahead of the metrics in the store

    second = kill_after_a_new_write(start(*RECIPE, "--resume", run_id), runs, first)
    assert len(client.get_metric_history(run_id, "loss")) >= second

    resumed = start(*RECIPE, "--resume", run_id, "--quiet")
    _, stderr = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, stderr
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    for key in PER_EPOCH:
        steps = sorted(m.step for m in client.get_metric_history(run_id, key))
        assert steps == list(range(1, EPOCHS + 1)), (key, len(steps))
