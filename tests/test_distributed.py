"""Data-parallel training: TensorFlow's MirroredStrategy over two logical CPU devices, and a
two-process JAX job through `kerazoo launch`, each against a one-device run of the same
global batch. Real fits in real subprocesses (device layouts are fixed per process)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap

import mlflow
import numpy as np
import pytest

from kerazoo.data import load_data, pipeline
from kerazoo.errors import KerazooError
from kerazoo.training import distributed
from tests.conftest import run_cli
from tests.test_cli import assert_one_line_error

# Two epochs of the smoke subsets: 256 training rows in 8 batches of 32, every batch even.
SMALL = ("--smoke", "--quiet", "--set", "train.epochs=2")


def logged_weights(run) -> list[np.ndarray]:
    name = run.data.tags["kerazoo.recipe"]  # the logged model is named after the recipe
    return mlflow.keras.load_model(f"runs:/{run.info.run_id}/{name}").get_weights()


def assert_same_weights(first, second, tolerance: float = 1e-6) -> None:
    assert len(first) == len(second)
    for left, right in zip(first, second, strict=True):
        np.testing.assert_allclose(left, right, rtol=0, atol=tolerance)


def only_run(experiment: str):
    (run,) = mlflow.search_runs(experiment_names=[experiment], output_format="list")
    return run


MIRRORED = textwrap.dedent("""
    import sys
    import tensorflow as tf

    # Two logical CPU devices, before TensorFlow initializes any.
    (cpu,) = tf.config.list_physical_devices("CPU")
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from kerazoo.cli import main

    main(sys.argv[1:])
""")


def test_mirrored_on_two_cpu_devices_matches_one_device():
    # Dropout off: MirroredStrategy draws per-replica random numbers, so masks would differ.
    common = (*SMALL, "--set", "model.dropout=0.0")
    mirrored = subprocess.run(
        [sys.executable, "-c", MIRRORED, "run", "mlp_digits", *common, "--distribute",
         "mirrored"], capture_output=True, text=True, timeout=300,
        env={**os.environ, "KERAS_BACKEND": "tensorflow"})
    assert mirrored.returncode == 0, mirrored.stderr
    single = run_cli("run", "mlp_digits", *common, "--set", "experiment=digits_one_device",
                     env={"KERAS_BACKEND": "tensorflow"})
    assert single.returncode == 0, single.stderr

    run = only_run("digits-smoke")
    assert run.info.status == "FINISHED"
    assert run.data.tags["kerazoo.distribute"] == "mirrored"
    assert run.data.tags["kerazoo.replicas"] == "2"
    assert run.data.params["train.distribute"] == "mirrored"
    assert_same_weights(logged_weights(run), logged_weights(only_run("digits_one_device-smoke")))


needs_jax = pytest.mark.skipif(importlib.util.find_spec("jax") is None,
                               reason="needs the jax extra: pip install -e '.[jax]'")


@needs_jax
def test_launch_two_processes_matches_one_process_and_logs_one_run():
    launched = run_cli("launch", "mlp_digits", "--processes", "2", *SMALL)
    assert launched.returncode == 0, launched.stdout + launched.stderr
    assert "[rank 0] run " in launched.stdout and "[rank 1] rank 1 " in launched.stdout
    single = run_cli("run", "mlp_digits", *SMALL, "--set", "experiment=digits_one_process",
                     env={"KERAS_BACKEND": "jax"})
    assert single.returncode == 0, single.stderr

    run = only_run("digits-smoke")  # rank 1 logged nothing
    assert run.info.status == "FINISHED"
    assert run.data.tags["kerazoo.backend"] == "jax"
    assert run.data.tags["kerazoo.processes"] == "2"
    assert [m.step for m in mlflow.MlflowClient().get_metric_history(
        run.info.run_id, "val_loss")] == [1, 2]
    one_process = only_run("digits_one_process-smoke")
    assert_same_weights(logged_weights(run), logged_weights(one_process))
    # validation runs on full batches on every rank, so its metrics are exact too
    assert run.data.metrics["val_loss"] == pytest.approx(
        one_process.data.metrics["val_loss"], abs=1e-6)


def test_data_parallel_splits_each_global_batch_between_processes():
    """Rank 1 of 2 gets the second half of every batch; an uneven last batch is dropped."""
    data = load_data("digits", seed=0).train.head(70)  # batches of 32, 32 and 6
    replicas = object.__new__(distributed.DataParallel)  # the JAX job itself is not needed
    replicas.process_id, replicas.num_processes, replicas.num_devices = 1, 2, 4
    replicas.local_devices = 2
    stream = pipeline.training_dataset(data, 32, seed=0, epochs=1, shuffle=False)
    sharded, steps = replicas.training_data(stream, len(data), 32)
    assert steps == 2
    halves = [np.asarray(targets) for _, targets in sharded]
    assert [len(half) for half in halves] == [16, 16]
    np.testing.assert_array_equal(np.concatenate(halves), np.concatenate(
        [data.y[16:32], data.y[48:64]]))
    # evaluation batches are copied to each local device, whatever their size
    evaluated = list(replicas.evaluation_data(pipeline.evaluation_dataset(data, 32)))
    assert [len(targets) for _, targets in evaluated] == [64, 64, 12]


def test_strategy_must_match_the_backend():
    import keras

    # Where JAX is not installed at all, the line says so and how to install it (issue 14).
    wrong, fragment = (("data_parallel", "'data_parallel' needs (the JAX backend|JAX, which)")
                       if keras.backend.backend() == "tensorflow"
                       else ("mirrored", "'mirrored' needs the TensorFlow backend"))
    with pytest.raises(KerazooError, match=fragment):
        distributed.replicas_for(wrong)


@pytest.mark.parametrize("arguments, fragment", [
    (("127.0.0.1", 2, 0), "--coordinator must be HOST:PORT"),
    (("127.0.0.1:99999", 2, 0), "--coordinator must be HOST:PORT"),
    (("127.0.0.1:12355", 2, 2), "--process-id must be in 0..1"),
    (("127.0.0.1:12355", 0, 0), "--num-processes must be a positive integer"),
])
def test_bad_job_arguments(arguments, fragment):
    with pytest.raises(KerazooError, match=fragment):
        distributed.initialize(*arguments)


def test_a_partial_multi_process_command_is_a_one_line_error():
    assert_one_line_error(run_cli("run", "mlp_digits", "--coordinator", "127.0.0.1:12355"),
                          "--distribute data_parallel --coordinator HOST:PORT")
