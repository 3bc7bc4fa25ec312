"""Sweep throughput: trials per minute of `kerazoo sweep` with 1 and 2 worker processes on a
smoke-sized recipe (every trial 1 epoch on 256 training rows), into fresh SQLite stores.

Two figures per worker count:
- "steady": trials between the first trial's start and the last trial's end, as Optuna
  recorded them (what adding workers buys once they run);
- "end to end": the whole command, process start-up and the parent's summary included.

    .venv/bin/python bench/sweep.py [--trials 12] [--workers 1 2] [--recipe mlp_digits]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna

SPACE = ["--param", "model.dropout=uniform(0, 0.5)",
         "--param", "train.learning_rate=loguniform(1e-4, 1e-1)",
         "--param", "model.units=choice([64, 128, 256])"]


def one_sweep(recipe: str, trials: int, workers: int) -> tuple[float, float]:
    """(steady trials/minute, end-to-end trials/minute) of one sweep in a scratch folder."""
    with tempfile.TemporaryDirectory() as scratch:
        environment = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{scratch}/mlflow.db"}
        storage = f"sqlite:///{scratch}/optuna.db"
        command = [str(Path(sys.executable).parent / "kerazoo"), "sweep", recipe, "--smoke",
                   *SPACE, "--trials", str(trials), "--workers", str(workers), "--storage",
                   storage, "--study", "bench"]
        start = time.perf_counter()
        subprocess.run(command, check=True, cwd=scratch, env=environment,
                       stdout=subprocess.DEVNULL)
        end_to_end = time.perf_counter() - start
        study = optuna.load_study(study_name="bench", storage=storage)
        ended = [trial for trial in study.trials if trial.datetime_complete is not None]
        first = min(trial.datetime_start for trial in ended)
        last = max(trial.datetime_complete for trial in ended)
        steady = (last - first).total_seconds()
    return 60 * len(ended) / steady, 60 * len(ended) / end_to_end


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="mlp_digits")
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    arguments = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    results = {}
    for workers in arguments.workers:
        steady, end_to_end = one_sweep(arguments.recipe, arguments.trials, workers)
        results[workers] = steady
        print(f"{workers} worker(s), {arguments.trials} trials: {steady:.1f} trials/min steady, "
              f"{end_to_end:.1f} trials/min end to end", flush=True)
    if 1 in results and len(results) > 1:
        for workers, steady in results.items():
            if workers != 1:
                print(f"{workers} workers / 1 worker (steady): {steady / results[1]:.2f}x "
                      f"on {os.cpu_count()} CPU cores")


if __name__ == "__main__":
    main()
