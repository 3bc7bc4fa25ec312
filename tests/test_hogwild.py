"""HOGWILD! (training/hogwild): the in-place update rule, which variables are sparse, real jobs
with spawned workers logged to MLflow, and the ends a job can meet (Ctrl-C, a dead worker)
leaving no process and no shared-memory block behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import mlflow
import numpy as np
import pytest

import kerazoo
from kerazoo.config.recipe import load_recipe
from kerazoo.training.hogwild.job import sparse_inputs
from kerazoo.training.hogwild.shared_weights import segment_prefix
from kerazoo.training.hogwild.updates import apply_dense, apply_sparse
from kerazoo.training.runner import run_recipe
from tests.conftest import run_cli

SMOKE = ("--smoke", "--set", "train.epochs=3")
NEVER_ENDING = ("--smoke", "--set", "train.epochs=100000")


def test_sparse_update_touches_only_the_batch_rows():
    table = np.arange(20, dtype=np.float32).reshape(10, 2)
    before = table.copy()
    rows = np.array([1, 7])
    apply_sparse(table, rows, np.ones((2, 2), np.float32), learning_rate=0.5)
    np.testing.assert_array_equal(table[rows], before[rows] - 0.5)
    untouched = np.setdiff1d(np.arange(10), rows)
    np.testing.assert_array_equal(table[untouched], before[untouched])
    dense = np.ones(3, np.float32)
    apply_dense(dense, np.array([1, 2, 3], np.float32), learning_rate=0.1)
    np.testing.assert_allclose(dense, [0.9, 0.8, 0.7])


def test_embeddings_fed_by_inputs_are_sparse_and_the_rest_dense():
    factorization = kerazoo.build("matrix_factorization", users=5, items=4, factors=2)
    assert sparse_inputs(factorization) == [0, 1, 0, 1]  # factors and biases of user, item
    assert sparse_inputs(kerazoo.build("mlp", units=[4])) == [None] * 4


def _metric(client, run_id: str, key: str) -> list[float]:
    return [m.value for m in sorted(client.get_metric_history(run_id, key),
                                    key=lambda m: m.step)]


@pytest.mark.parametrize("workers, lock", [(1, False), (2, True)])
def test_hogwild_runs_reduce_validation_loss_and_are_tracked(client, workers, lock):
    recipe = load_recipe("hogwild_ratings", ["train.epochs=3", f"train.workers={workers}",
                                             f"train.lock={str(lock).lower()}"], smoke=True)
    result = run_recipe(recipe, smoke=True, verbose=0)
    run = client.get_run(result.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.tags["kerazoo.strategy"] == "hogwild"
    assert run.data.tags["kerazoo.workers"] == str(workers)
    assert run.data.tags["kerazoo.lock"] == str(lock).lower()
    validation = _metric(client, result.run_id, "val_loss")
    assert len(validation) == 3 and validation[-1] < validation[0]
    assert len(_metric(client, result.run_id, "updates_per_second")) == 3
    for index in range(workers):
        assert _metric(client, result.run_id, f"updates_per_second_worker_{index}")[-1] > 0
    # The logged model is the final shared weights under the model's own names.
    logged = mlflow.keras.load_model(f"runs:/{result.run_id}/hogwild_ratings")
    assert sorted(variable.path for variable in logged.weights) == [
        "item_bias/embeddings", "item_factors/embeddings",
        "user_bias/embeddings", "user_factors/embeddings"]
    for saved, trained in zip(logged.weights, result.model.weights, strict=True):
        np.testing.assert_array_equal(saved.numpy(), trained.numpy())


def start(*args: str) -> subprocess.Popen:
    return subprocess.Popen([str(Path(sys.executable).parent / "kerazoo"), "run",
                             "hogwild_ratings", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def worker_pids_after_first_epoch(process: subprocess.Popen) -> list[int]:
    """Read progress lines until the first epoch is validated; the workers' pids."""
    pids: list[int] = []
    for line in process.stdout:
        if line.startswith("hogwild:"):
            pids = [int(word) for word in line.split("pids", 1)[1].split()]
        if line.startswith("Epoch 1/"):
            return pids
    raise AssertionError(f"no first epoch: {process.communicate()}")


def assert_nothing_left(parent: int, workers: list[int]) -> None:
    for pid in workers:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert not [name for name in os.listdir("/dev/shm")
                if name.startswith(segment_prefix(parent))]


def _only_run(client):
    (run,) = client.search_runs([experiment.experiment_id
                                 for experiment in client.search_experiments()])
    return run


@pytest.mark.parametrize("signal_number", [
    signal.SIGINT, pytest.param(signal.SIGTERM, marks=pytest.mark.slow)])
def test_a_signal_stops_every_worker_and_kills_the_run(client, signal_number):
    process = start(*NEVER_ENDING)
    workers = worker_pids_after_first_epoch(process)
    assert len(workers) == 2
    process.send_signal(signal_number)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert _only_run(client).info.status == "KILLED"
    assert_nothing_left(process.pid, workers)


def test_a_dead_worker_fails_the_run_with_one_line(client):
    process = start(*NEVER_ENDING)
    workers = worker_pids_after_first_epoch(process)
    os.kill(workers[1], signal.SIGKILL)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 1
    assert stderr.strip().splitlines()[-1] == (
        "kerazoo: run failed: hogwild worker 1 died: exit code -9 (killed by a signal)")
    assert "Traceback" not in stderr
    run = _only_run(client)
    assert run.info.status == "FAILED"
    assert run.data.tags["kerazoo.error"].startswith("WorkerFailed: hogwild worker 1 died")
    assert_nothing_left(process.pid, workers)


def test_bad_hogwild_settings_are_one_line_errors():
    with pytest.raises(kerazoo.KerazooError, match=r"train.workers: .*Received: train.workers=0"):
        load_recipe("hogwild_ratings", ["train.workers=0"])
    with pytest.raises(kerazoo.KerazooError, match="train.optimizer: strategy hogwild"):
        load_recipe("hogwild_ratings", ["train.optimizer=adam"])
    with pytest.raises(kerazoo.KerazooError, match="train.workers: workers and lock apply"):
        load_recipe("mlp_digits", ["train.workers=2"])


def test_workers_option_is_validated_at_the_edge(client):
    result = run_cli("run", "hogwild_ratings", "--workers", "0")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "kerazoo: error: recipe 'hogwild_ratings': train.workers: Input should be greater "
        "than or equal to 1. Received: train.workers=0"]
    assert client.search_experiments(filter_string="name LIKE 'ratings%'") == []
