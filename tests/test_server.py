"""A team's setup end to end: a real PostgreSQL (Debian's packages) holding both the MLflow
runs, behind a real `mlflow server`, and the Optuna study; a recipe run and a two-worker
sweep against them. Everything listens on 127.0.0.1 only. Slow: `make test-server`."""

from __future__ import annotations

import glob
import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import mlflow
import optuna
import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.slow

LOOPBACK = "127.0.0.1"
DATABASE_USER = "kerazoo"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def as_database_owner(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, run it as Debian's `postgres` user."""
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


def wait_for(check, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise TimeoutError(f"{what} did not come up in {seconds} s")


@pytest.fixture(scope="module")
def postgres():
    """A throwaway cluster in a temporary folder, trust auth on loopback only."""
    binaries = postgres_bin()
    if binaries is None:
        pytest.skip("needs PostgreSQL: apt-get install postgresql (or `make test-server`)")
    if importlib.util.find_spec("psycopg") is None:
        pytest.skip("needs psycopg: pip install -e '.[postgres]'")
    # Under /tmp itself: the `postgres` user cannot enter pytest's private tmp folders.
    directory = Path(tempfile.mkdtemp(prefix="kerazoo-postgres-"))
    data = directory / "data"
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(directory, owner.pw_uid, owner.pw_gid)
    port = free_port()
    subprocess.run(as_database_owner([str(binaries / "initdb"), "-D", str(data), "-U",
                                      DATABASE_USER, "--auth=trust", "--no-sync"]),
                   check=True, capture_output=True)
    options = (f"-c listen_addresses={LOOPBACK} -c port={port} "
               f"-c unix_socket_directories={directory} -c fsync=off")
    subprocess.run(as_database_owner([str(binaries / "pg_ctl"), "-D", str(data), "-o", options,
                                      "-l", str(directory / "server.log"), "-w", "start"]),
                   check=True, capture_output=True)
    try:
        for database in ("mlflow", "optuna"):
            subprocess.run(as_database_owner([str(binaries / "createdb"), "-h", LOOPBACK, "-p",
                                              str(port), "-U", DATABASE_USER, database]),
                           check=True, capture_output=True)
        yield f"postgresql://{DATABASE_USER}@{LOOPBACK}:{port}"
    finally:
        subprocess.run(as_database_owner([str(binaries / "pg_ctl"), "-D", str(data), "-m",
                                          "fast", "-w", "stop"]), capture_output=True)
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="module")
def server(postgres, tmp_path_factory):
    """`mlflow server` on loopback with the PostgreSQL backend and a local artifact folder."""
    port = free_port()
    artifacts = tmp_path_factory.mktemp("artifacts")
    log = open(artifacts.parent / "mlflow-server.log", "w")  # noqa: SIM115 (closed below)
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "mlflow"), "server", "--host", LOOPBACK, "--port",
         str(port), "--backend-store-uri", f"{postgres}/mlflow", "--artifacts-destination",
         str(artifacts), "--workers", "2"], stdout=log, stderr=subprocess.STDOUT)
    uri = f"http://{LOOPBACK}:{port}"

    def healthy() -> bool:
        assert process.poll() is None, "mlflow server exited; see mlflow-server.log"
        try:
            with urllib.request.urlopen(f"{uri}/health", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    try:
        wait_for(healthy, "mlflow server", seconds=120)
        yield uri
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture
def on_server(server, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server)
    mlflow.set_tracking_uri(server)  # `runs:/` URIs resolve through it; conftest set a file
    return mlflow.MlflowClient(server)


def test_a_recipe_run_lands_on_the_server(on_server):
    completed = run_cli("run", "mlp_digits", "--smoke", "--quiet",
                        "--set", "experiment=server_runs")
    assert completed.returncode == 0, completed.stderr
    experiment = on_server.get_experiment_by_name("server_runs-smoke")
    (run,) = on_server.search_runs([experiment.experiment_id])
    assert run.info.status == "FINISHED"
    assert "test_accuracy" in run.data.metrics
    # artifacts went through the server into its folder, not into this working directory
    assert run.info.artifact_uri.startswith("mlflow-artifacts:")
    assert {"plots", "recipe.yaml"} <= {
        item.path for item in on_server.list_artifacts(run.info.run_id)}
    model = mlflow.keras.load_model(f"runs:/{run.info.run_id}/mlp_digits")
    assert model.count_params() > 0


def test_a_two_worker_sweep_on_postgres_and_the_server(on_server, postgres):
    storage = f"{postgres}/optuna"
    completed = run_cli("sweep", "mlp_digits", "--smoke", "--set", "experiment=server_sweeps",
                        "--param", "model.dropout=uniform(0, 0.5)", "--trials", "4",
                        "--workers", "2", "--storage", storage, "--study", "team")
    assert completed.returncode == 0, completed.stderr + completed.stdout
    study = optuna.load_study(study_name="team", storage=storage)
    assert sorted(trial.number for trial in study.trials
                  if trial.state == optuna.trial.TrialState.COMPLETE) == [0, 1, 2, 3]
    experiment = on_server.get_experiment_by_name("server_sweeps-smoke")
    runs = on_server.search_runs([experiment.experiment_id])
    (parent,) = [run for run in runs if run.data.tags.get("kerazoo.sweep.role") == "parent"]
    children = [run for run in runs if run.data.tags.get("mlflow.parentRunId")
                == parent.info.run_id]
    assert len(children) == 4 and len(runs) == 5
    assert parent.data.metrics["best_val_loss"] == pytest.approx(study.best_value)


def test_registration_and_load_through_the_server(on_server):
    import numpy as np

    import kerazoo
    from kerazoo.config.recipe import load_recipe
    from kerazoo.training.runner import run_recipe

    recipe = load_recipe("mlp_digits", ["train.epochs=1", "experiment=server_registry"])
    result = run_recipe(recipe, tracking_uri=on_server.tracking_uri, verbose=0)
    assert result.registered is not None and result.registered.best_version == "1"
    best = on_server.get_model_version_by_alias("mlp_digits", "best")
    assert best.run_id == result.run_id and "recipe: mlp_digits" in best.description
    assert best.tags["task"] == "classification"
    assert f"{on_server.tracking_uri}/#/experiments/" in best.description  # the server's UI
    x = result.data.test.x
    np.testing.assert_allclose(kerazoo.load("mlp_digits").predict(x, verbose=0),
                               result.model.predict(x, verbose=0), atol=1e-6)
    listed = run_cli("models")
    assert listed.returncode == 0, listed.stderr
    assert result.run_id in listed.stdout and "version 1" in listed.stdout
