"""Four runs started at once against one fresh SQLite store all finish, with complete
histories: the store is created once under a file lock, in write-ahead-log mode, and nobody
sees 'database is locked'."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import mlflow

EPOCHS = 3


def test_four_concurrent_runs_on_one_new_store(tmp_path):
    (tmp_path / "mlruns" / "mlflow.db").unlink()  # let the four processes race to create it
    command = [str(Path(sys.executable).parent / "kerazoo"), "run", "mlp_digits", "--smoke",
               "--quiet", "--set", f"train.epochs={EPOCHS}"]
    processes = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, env=os.environ.copy()) for _ in range(4)]
    outputs = [process.communicate(timeout=600) for process in processes]
    for process, (_, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, stderr
        assert "database is locked" not in stderr
    client = mlflow.MlflowClient()
    runs = client.search_runs([client.get_experiment_by_name("digits-smoke").experiment_id])
    assert len(runs) == 4
    for run in runs:
        assert run.info.status == "FINISHED"
        for key in ("loss", "val_loss", "learning_rate"):
            assert sorted(m.step for m in client.get_metric_history(run.info.run_id, key)) \
                == list(range(1, EPOCHS + 1))
        assert "test_accuracy" in run.data.metrics
    database = tmp_path / "mlruns" / "mlflow.db"
    with contextlib.closing(sqlite3.connect(database)) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
