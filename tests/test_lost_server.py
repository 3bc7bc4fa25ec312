"""A tracking server that dies mid-run (issue 19, item 6): the run notices within MLflow's
HTTP retry budget (kerazoo.tracking.runs.MLFLOW_DEFAULTS), stops with one line, keeps its
training state at the last epoch whose metrics the server took, and `--resume` against the
restarted server completes the history, every epoch exactly once. A real `mlflow server`
(SQLite behind it), killed with SIGKILL; each moment is found from output and files."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import mlflow
import pytest

EPOCHS = 3000  # smoke epochs: the state is first written after 10 s of training
PER_EPOCH = ("loss", "val_loss", "accuracy", "learning_rate")
LOOPBACK = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def start_server(port: int, folder: Path) -> subprocess.Popen:
    """`mlflow server` in a session of its own (its workers die with it)."""
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "mlflow"), "server", "--host", LOOPBACK, "--port",
         str(port), "--backend-store-uri", f"sqlite:///{folder / 'server.db'}",
         "--artifacts-destination", str(folder / "artifacts"), "--workers", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 300  # a start-up limit, not a measurement
    while time.monotonic() < deadline:
        assert process.poll() is None, "mlflow server exited"
        try:
            with urllib.request.urlopen(f"http://{LOOPBACK}:{port}/health", timeout=5):
                return process
        except OSError:
            time.sleep(0.5)
    raise TimeoutError("mlflow server did not come up")


def kill_server(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def state_written(runs: Path) -> bool:
    for metadata in runs.glob("*/backup/training_metadata.json"):
        try:
            return int(json.loads(metadata.read_text())["epoch"]) > 0
        except (OSError, ValueError, KeyError):
            return False
    return False


@pytest.mark.slow
def test_a_lost_server_stops_the_run_in_one_line_and_resume_completes_it(tmp_path):
    port, folder = free_port(), tmp_path / "server"
    folder.mkdir()
    uri = f"http://{LOOPBACK}:{port}"
    server = start_server(port, folder)
    command = [str(Path(sys.executable).parent / "kerazoo"), "run", "mlp_digits", "--smoke",
               "--set", f"train.epochs={EPOCHS}", "--tracking-uri", uri]
    try:
        run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=os.environ.copy())
        for line in run.stdout:
            if line.startswith("Epoch ") and state_written(tmp_path / "mlruns" / "runs"):
                kill_server(server)
                break
        _, stderr = run.communicate(timeout=600)
        assert run.returncode == 1, stderr
        assert "Traceback" not in stderr
        (last,) = [line for line in stderr.splitlines() if line.startswith("kerazoo:")]
        assert last.startswith("kerazoo: run stopped: the tracking store") and uri in last
        (run_dir,) = (tmp_path / "mlruns" / "runs").iterdir()
        assert (run_dir / "backup" / "training_metadata.json").is_file()

        server = start_server(port, folder)
        resumed = subprocess.run([*command, "--quiet", "--resume", run_dir.name],
                                 capture_output=True, text=True, env=os.environ.copy(),
                                 timeout=900)
        assert resumed.returncode == 0, resumed.stderr
        client = mlflow.MlflowClient(uri)
        assert client.get_run(run_dir.name).info.status == "FINISHED"
        for key in PER_EPOCH:
            steps = sorted(m.step for m in client.get_metric_history(run_dir.name, key))
            assert steps == list(range(1, EPOCHS + 1)), (key, len(steps))
    finally:
        if server.poll() is None:
            kill_server(server)
