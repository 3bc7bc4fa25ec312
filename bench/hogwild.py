"""HOGWILD! against serial and locked SGD: seconds to reach the serial run's validation loss.

For each recipe (hogwild_ratings, sparse; hogwild_digits, dense) and each configuration
(1 worker; 2 workers lock-free and locked; more where the machine has the cores), rounds of
real `kerazoo run` jobs, interleaved so a change in the machine's load hits every
configuration alike. Per run, from its logged metrics:

- the seconds of training (`hogwild_seconds`, validation pauses left out) until the first
  epoch whose `val_loss` is within 1 % of the same round's serial run's final `val_loss`;
  parallel runs get `--extra-epochs` more epochs to get there (a lost update costs a little);
- the updates per second, all workers together, median over the epochs after the first
  (which includes tracing).

Medians over rounds are printed as a table, then the speedups at 2 workers.

    .venv/bin/python bench/hogwild.py [--rounds 3] [--recipes hogwild_ratings hogwild_digits]
        [--smoke] [--set KEY=VALUE]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import mlflow

TOLERANCE = 0.01  # "reached" means within 1 % of the serial run's final validation loss


@dataclass(frozen=True)
class Configuration:
    workers: int
    lock: bool

    @property
    def label(self) -> str:
        return f"{self.workers} worker{'s' * (self.workers > 1)}" + \
            (", locked" if self.lock else "") if self.workers > 1 else "serial"


@dataclass
class Outcome:
    seconds_to_target: float  # inf when the target was not reached
    final_val_loss: float
    updates_per_second: float


def configurations(cores: int) -> list[Configuration]:
    found = [Configuration(1, False), Configuration(2, False), Configuration(2, True)]
    return found + [Configuration(cores, False)] * (cores > 2)


def history(client: mlflow.MlflowClient, run_id: str, key: str) -> list[float]:
    return [m.value for m in sorted(client.get_metric_history(run_id, key),
                                    key=lambda m: m.step)]


def run_job(recipe: str, configuration: Configuration, epochs_factor: float,
            overrides: list[str], smoke: bool, scratch: Path) -> tuple[list[float], list[float],
                                                                      list[float]]:
    """One `kerazoo run`; its val_loss, hogwild_seconds and updates_per_second per epoch."""
    uri = f"sqlite:///{scratch}/mlflow.db"
    sets = [*overrides, f"train.workers={configuration.workers}",
            f"train.lock={str(configuration.lock).lower()}"]
    command = [str(Path(sys.executable).parent / "kerazoo"), "run", recipe, "--quiet",
               *(["--smoke"] if smoke else [])]
    if epochs_factor != 1:
        from kerazoo.config.recipe import load_recipe

        epochs = load_recipe(recipe, overrides, smoke=smoke).train.epochs
        sets.append(f"train.epochs={math.ceil(epochs * epochs_factor)}")
    command += [item for override in sets for item in ("--set", override)]
    subprocess.run(command, check=True, cwd=scratch, stdout=subprocess.DEVNULL,
                   env={**os.environ, "MLFLOW_TRACKING_URI": uri})
    client = mlflow.MlflowClient(uri)
    (run,) = client.search_runs([e.experiment_id for e in client.search_experiments()],
                                order_by=["attributes.start_time DESC"], max_results=1)
    run_id = run.info.run_id
    return (history(client, run_id, "val_loss"), history(client, run_id, "hogwild_seconds"),
            history(client, run_id, "updates_per_second"))


def outcome(val_loss: list[float], seconds: list[float], rates: list[float],
            target: float) -> Outcome:
    reached = [elapsed for loss, elapsed in zip(val_loss, seconds, strict=True)
               if loss <= target * (1 + TOLERANCE)]
    return Outcome(reached[0] if reached else math.inf, val_loss[-1],
                   statistics.median(rates[1:] or rates))


def measure(recipe: str, rounds: int, extra_epochs: float, overrides: list[str], smoke: bool,
            cores: int) -> dict[Configuration, list[Outcome]]:
    results: dict[Configuration, list[Outcome]] = {}
    for round_index in range(rounds):
        target = None
        for configuration in configurations(cores):
            with tempfile.TemporaryDirectory(prefix="kerazoo-hogwild-bench-") as folder:
                serial = configuration.workers == 1
                losses, seconds, rates = run_job(recipe, configuration,
                                                 1 if serial else 1 + extra_epochs,
                                                 overrides, smoke, Path(folder))
            if serial:
                target = losses[-1]
            results.setdefault(configuration, []).append(outcome(losses, seconds, rates,
                                                                 target))
            print(f"  round {round_index + 1} {recipe} {configuration.label}: "
                  f"{results[configuration][-1]}", file=sys.stderr, flush=True)
    return results


def median(values: list[float]) -> float:
    return statistics.median(values)  # inf stays inf when most rounds missed the target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", nargs="+", default=["hogwild_ratings", "hogwild_digits"])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--extra-epochs", type=float, default=0.5,
                        help="parallel runs get this fraction more epochs to reach the target")
    parser.add_argument("--smoke", action="store_true", help="tiny runs: checks it works")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE")
    arguments = parser.parse_args()
    cores = os.cpu_count() or 1
    rows, speedups = [], {}
    for recipe in arguments.recipes:
        results = measure(recipe, arguments.rounds, arguments.extra_epochs,
                          arguments.overrides, arguments.smoke, cores)
        serial_seconds = median([o.seconds_to_target for o in results[Configuration(1, False)]])
        for configuration, outcomes in results.items():
            seconds = median([o.seconds_to_target for o in outcomes])
            speedup = serial_seconds / seconds if seconds > 0 else math.nan
            speedups[recipe, configuration] = speedup
            rows.append(f"{recipe:<16} {configuration.label:<18} {seconds:>10.2f} "
                        f"{median([o.final_val_loss for o in outcomes]):>12.5f} "
                        f"{median([o.updates_per_second for o in outcomes]):>10.1f} "
                        f"{speedup:>8.2f}")
    print(f"{'recipe':<16} {'configuration':<18} {'s to target':>10} {'final val':>12} "
          f"{'updates/s':>10} {'speedup':>8}")
    print("\n".join(rows))
    sparse, dense = "hogwild_ratings", "hogwild_digits"

    def at_two(recipe: str, lock: bool) -> str:
        value = speedups.get((recipe, Configuration(2, lock)))
        return "n/a" if value is None else f"{value:.2f}"

    print(f"hogwild speedup at 2 workers: sparse {at_two(sparse, False)} lock-free, "
          f"{at_two(sparse, True)} locked; dense {at_two(dense, False)} lock-free")


if __name__ == "__main__":
    main()
