"""A disk that fills while a run trains: one line saying so and where, the run ended FAILED
(never left RUNNING), the last training state whole, and `--resume` with room again completes
the run with every epoch's metrics exactly once.

The disk is a real tmpfs, filled by a real file until the kernel refuses (ENOSPC), mounted in
a mount namespace of the test's own (tests/full_disk.py): no root needed where unprivileged
user namespaces are allowed; skipped elsewhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import h5py
import mlflow
import pytest

from kerazoo.training.checkpoint import saved_epoch
from tests.conftest import run_cli

EPOCHS = 300  # 0.1 s each: the first state is kept after 10 s, well before the end
RECIPE = ["mlp_digits", "--set", f"train.epochs={EPOCHS}"]
KERAZOO = str(Path(sys.executable).parent / "kerazoo")


def namespaces_allowed() -> bool:
    try:
        probe = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "true"],
                               capture_output=True)
    except FileNotFoundError:
        return False
    return probe.returncode == 0


@pytest.mark.slow  # two runs of a few hundred epochs
@pytest.mark.skipif(not namespaces_allowed(), reason="needs unshare and user namespaces")
def test_a_full_disk_stops_the_run_in_one_line_and_resume_completes_it(tmp_path,
                                                                        template_store):
    work = tmp_path / "work"
    work.mkdir()
    store = work / "mlruns" / "mlflow.db"
    environment = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{store}"}
    environment.pop("KERAZOO_STRICT_TRACKING", None)  # as users run it: logging only warns
    scenario = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", sys.executable,
         str(Path(__file__).parent / "full_disk.py"), "16m", str(work), str(template_store),
         KERAZOO, "run", *RECIPE],
        capture_output=True, text=True, env=environment, timeout=600)
    assert scenario.returncode == 0, scenario.stderr
    ended = json.loads(scenario.stdout)
    assert ended["filled"] is not None, ended["stdout"][-2000:]

    assert ended["returncode"] == 1, ended["stderr"]
    lines = ended["stderr"].strip().splitlines()
    assert len(lines) == 1, ended["stderr"]
    assert lines[0].startswith("kerazoo: run failed: the disk is full (No space left on "
                               f"device) writing '{work}/mlruns/"), lines[0]
    client = mlflow.MlflowClient(f"sqlite:///{store}")
    (run,) = client.search_runs([client.get_experiment_by_name("digits").experiment_id])
    assert run.info.status == "FAILED"
    # The state kept is whole: both copies open, and the epoch they record is the one
    # BackupAndRestore will restore.
    backup = Path(run.data.tags["kerazoo.run_dir"]) / "backup"
    for name in ("latest.weights.h5", "latest.weights.h5.bkp"):
        if (backup / name).exists():
            with h5py.File(backup / name, "r") as weights:
                assert len(weights.keys()) > 0
    assert not list(backup.glob("*partial*"))  # the failed write left nothing behind
    kept = saved_epoch(backup)
    assert 0 < kept < EPOCHS

    resumed = run_cli("run", *RECIPE, "--resume", run.info.run_id,
                      env={"MLFLOW_TRACKING_URI": f"sqlite:///{store}"})
    assert resumed.returncode == 0, resumed.stderr
    run = client.get_run(run.info.run_id)
    assert run.info.status == "FINISHED"
    for key in ("loss", "val_loss", "accuracy"):
        steps = [metric.step for metric in client.get_metric_history(run.info.run_id, key)]
        assert sorted(steps) == list(range(1, EPOCHS + 1)), (key, steps)
