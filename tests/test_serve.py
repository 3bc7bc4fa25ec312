"""`kerazoo serve`: MLflow's real scoring server on loopback answers real test rows as the
trained model does, a classifier with its labels; mistakes are one line, exit 2."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import mlflow
import numpy as np
import pytest

from kerazoo.config.recipe import load_recipe
from kerazoo.training.runner import run_recipe
from tests.conftest import run_cli
from tests.test_cli import assert_one_line_error

KERAZOO = Path(sys.executable).parent / "kerazoo"
# How long the server may take to load the model and answer /ping. Only a bound on a hang:
# the loop returns as soon as it answers, and fails at once if the server exits.
READY_WITHIN_SECONDS = 600


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_unknown_run_is_one_line():
    completed = run_cli("serve", "0123456789abcdef0123456789abcdef")
    assert_one_line_error(completed, "no run '0123456789abcdef0123456789abcdef'")


def test_an_unregistered_recipe_is_one_line():
    completed = run_cli("serve", "no_such_recipe")
    assert_one_line_error(completed, "models:/no_such_recipe@best", "a recipe name")


def test_a_port_in_use_is_one_line():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        completed = run_cli("serve", "mlp_digits", "--port", str(port))
    assert_one_line_error(completed, f"--port {port}")


def test_a_port_out_of_range_is_one_line():
    assert_one_line_error(run_cli("serve", "mlp_digits", "--port", "70000"), "--port", "70000")


def wait_until_ready(process: subprocess.Popen, port: int, log: Path) -> None:
    deadline = time.monotonic() + READY_WITHIN_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"kerazoo serve exited ({process.returncode}):\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=5) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.5)  # between polls only; readiness alone decides
    pytest.fail(f"no answer on /ping:\n{log.read_text()}")


def post(port: int, body: dict) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/invocations", data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as answer:
        return json.loads(answer.read())


def serve_and_post(model: str, rows: np.ndarray, log: Path) -> list:
    """Start `kerazoo serve MODEL` with a PATH that lacks the venv, POST the rows, stop it."""
    port = free_port()
    environment = {**os.environ, "PATH": "/usr/bin:/bin"}
    with open(log, "w") as output:
        process = subprocess.Popen([str(KERAZOO), "serve", model, "--port", str(port)],
                                   env=environment, stdout=output, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        wait_until_ready(process, port, log)
        return post(port, {"inputs": rows.tolist()})["predictions"]
    finally:  # the server and its uvicorn are one process group
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_a_served_classifier_answers_labels_and_probabilities(client, tmp_path):
    """mlp_digits, served by its recipe name: the registered version with alias `best`."""
    result = run_recipe(load_recipe("mlp_digits", smoke=True), smoke=True, verbose=0)
    version = mlflow.register_model(f"runs:/{result.run_id}/mlp_digits", "mlp_digits")
    client.set_registered_model_alias("mlp_digits", "best", version.version)
    rows = result.data.test.x[:8]
    expected = np.asarray(result.model(rows, training=False))

    predictions = serve_and_post("mlp_digits", rows, tmp_path / "serve.log")

    assert [row["label"] for row in predictions] == [str(d) for d in expected.argmax(axis=1)]
    assert list(predictions[0]["probabilities"]) == [str(digit) for digit in range(10)]
    np.testing.assert_allclose([list(row["probabilities"].values()) for row in predictions],
                               expected, rtol=1e-5, atol=1e-6)


def test_a_served_autoencoder_answers_its_reconstructions(tmp_path):
    """dae_digits, served by its run id; a model with kerazoo's Corruption layer."""
    result = run_recipe(load_recipe("dae_digits", smoke=True), smoke=True, verbose=0)
    rows = result.data.test.x[:4]
    expected = np.asarray(result.model(rows, training=False))

    predictions = serve_and_post(result.run_id, rows, tmp_path / "serve.log")

    np.testing.assert_allclose(np.asarray(predictions), expected, rtol=1e-5, atol=1e-6)
