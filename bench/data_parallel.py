"""Data-parallel step time on JAX: one process (`kerazoo run`) against N local processes
(`kerazoo launch --processes N`), the same recipe and the same global batch.

The times come from the runs themselves: rank 0 logs each epoch's metrics as the epoch ends,
so the gaps between those timestamps are epoch durations. The first epoch (compilation) is
left out; the step time is the median epoch duration over the steps in an epoch.

    .venv/bin/python bench/data_parallel.py [--processes 2] [--epochs 6] [--set KEY=VALUE]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import mlflow


def epoch_seconds(client: mlflow.MlflowClient, run_id: str) -> list[float]:
    history = sorted(client.get_metric_history(run_id, "loss"), key=lambda metric: metric.step)
    stamps = [metric.timestamp / 1000 for metric in history]
    return [later - earlier for earlier, later in zip(stamps, stamps[1:], strict=False)]


def steps_per_epoch(train_size: int, batch_size: int, processes: int) -> int:
    """As kerazoo/training/distributed.py feeds them: a last batch that does not split evenly over
    the processes is left out."""
    remainder = train_size % batch_size
    if processes == 1:
        return -(-train_size // batch_size)
    return train_size // batch_size + (1 if remainder and remainder % processes == 0 else 0)


def timed_run(recipe: str, processes: int, overrides: list[str], scratch: Path) -> float:
    """Median seconds per global step of one run (1 process: `run`, else `launch`)."""
    uri = f"sqlite:///{scratch}/mlflow-{processes}.db"
    environment = {**os.environ, "KERAS_BACKEND": "jax", "MLFLOW_TRACKING_URI": uri}
    kerazoo = str(Path(sys.executable).parent / "kerazoo")
    sets = [item for override in overrides for item in ("--set", override)]
    if processes == 1:
        command = [kerazoo, "run", recipe, "--quiet", *sets]
    else:
        command = [kerazoo, "launch", recipe, "--processes", str(processes), "--quiet", *sets]
    subprocess.run(command, check=True, cwd=scratch, env=environment, stdout=subprocess.DEVNULL)
    client = mlflow.MlflowClient(uri)
    (run,) = client.search_runs([e.experiment_id for e in client.search_experiments()])
    steps = steps_per_epoch(int(run.data.params["data_fingerprint.train_size"]),
                            int(run.data.params["train.batch_size"]), processes)
    return statistics.median(epoch_seconds(client, run.info.run_id)) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="mlp_digits")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE")
    arguments = parser.parse_args()
    overrides = [f"train.epochs={arguments.epochs}", *arguments.overrides]
    with tempfile.TemporaryDirectory() as scratch:
        single = timed_run(arguments.recipe, 1, overrides, Path(scratch))
        parallel = timed_run(arguments.recipe, arguments.processes, overrides, Path(scratch))
    print(f"{arguments.recipe} ({', '.join(overrides)}), JAX on {os.cpu_count()} CPU cores: "
          f"1 process {1000 * single:.2f} ms/step, {arguments.processes} processes "
          f"{1000 * parallel:.2f} ms/step (ratio {parallel / single:.2f})")


if __name__ == "__main__":
    main()
