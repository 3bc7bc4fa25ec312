"""What kerazoo's tracking costs: the `mlp_digits` recipe under kerazoo (params, per-epoch
metrics, test metrics, tags, learning-curve and confusion-matrix PNGs, logged MLflow model)
against a bare Keras script doing the same work (load data, build, compile, `fit` on the same
`tf.data` pipeline, `evaluate`, `model.save`). The ratio is the cost of tracking and nothing
else. `--numpy` adds a third contender, `fit(x, y)` on NumPy arrays as most scripts write it.
`--recipe char_rnn --epochs 1` times the second case of the targets (docs/benchmarks.md): a
1-epoch language model, where tracking must cost at most 2 % (≤ 1.10 on mlp_digits).

One process; one warm-up each that is not counted (it pays one-off imports and tracing, and
starts kerazoo's figure helper process, which then serves every round as it serves a sweep's
trials; `--fresh-helper` starts it in every kerazoo run instead, as a one-run `kerazoo run`
process does); then REPEATS rounds, each timing the contenders back to back, in alternating
order, after a garbage collection, so that every round compares them under the same machine
conditions. Shared 2-core machines stall a process for a second or two now and then, which
moves a single round's ratio by 20 %; the median over rounds is the headline (last line),
printed with the spread of the rounds, a bootstrap interval for the median, and the ratio of
the fastest runs, which stalls only lengthen. 31 rounds take about 7 minutes.

    .venv/bin/python bench/overhead.py [--repeats 31] [--recipe NAME] [--epochs N] [--numpy]
                                       [--fresh-helper]
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

from kerazoo.config.recipe import load_recipe  # noqa: E402
from kerazoo.data import load_data, pipeline  # noqa: E402
from kerazoo.tracking import painter  # noqa: E402
from kerazoo.training.runner import build_model, compile_model, run_recipe  # noqa: E402


def bare_keras(recipe, directory: Path, same_pipeline: bool) -> None:
    keras.utils.set_random_seed(recipe.seed)
    data = load_data(recipe.data.name, seed=recipe.seed, **recipe.data.kwargs)
    model = build_model(recipe.model, data.model_hints)
    batch_size, epochs = recipe.train.batch_size, recipe.train.epochs
    steps = pipeline.steps_per_epoch(data.train, batch_size)
    # as the runner compiles it (steps_per_execution: epoch needs the epoch's steps)
    compile_model(model, recipe, recipe.train.learning_rate, steps)
    if same_pipeline:
        model.fit(pipeline.training_dataset(data.train, batch_size, recipe.seed, epochs),
                  steps_per_epoch=steps,
                  validation_data=pipeline.evaluation_dataset(data.validation, batch_size),
                  epochs=epochs, shuffle=False, verbose=0)
        model.evaluate(pipeline.evaluation_dataset(data.test, batch_size), verbose=0)
    else:
        model.fit(data.train.x, data.train.y, batch_size=batch_size, epochs=epochs,
                  validation_data=(data.validation.x, data.validation.y), verbose=0)
        model.evaluate(data.test.x, data.test.y, batch_size=batch_size, verbose=0)
    model.save(directory / "model.keras")


def timed(run, fresh_helper: bool = False) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one run, starting from a collected heap (and, if asked,
    with no figure helper running, so that the run starts its own as a one-run process does)."""
    if fresh_helper:
        painter.close_shared()
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - wall, time.process_time() - cpu


def median_interval(values: list[float], resamples: int = 5000) -> tuple[float, float]:
    """A 95 % bootstrap interval for the median of `values` (fixed seed: the same rounds
    give the same interval)."""
    generator = random.Random(0)
    medians = sorted(statistics.median(generator.choices(values, k=len(values)))
                     for _ in range(resamples))
    return medians[int(0.025 * resamples)], medians[int(0.975 * resamples) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=31)
    parser.add_argument("--recipe", default="mlp_digits")
    parser.add_argument("--epochs", type=int, default=None, help="default: the recipe's")
    parser.add_argument("--numpy", action="store_true",
                        help="also time fit(x, y) on NumPy arrays")
    parser.add_argument("--fresh-helper", action="store_true",
                        help="start the figure helper anew in every kerazoo run, as a "
                             "`kerazoo run` process does, instead of once in the warm-up")
    arguments = parser.parse_args()
    if arguments.repeats < 2:
        parser.error(f"--repeats must be at least 2. Received: --repeats={arguments.repeats}")
    overrides = [f"train.epochs={arguments.epochs}"] if arguments.epochs else []
    recipe = load_recipe(arguments.recipe, overrides)
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        uri = f"sqlite:///{directory / 'mlflow.db'}"
        os.chdir(directory)  # artifacts land in the scratch folder
        contenders = {
            "kerazoo": lambda: run_recipe(recipe, tracking_uri=uri, verbose=0),
            "bare": lambda: bare_keras(recipe, directory, same_pipeline=True),
        }
        if arguments.numpy:
            contenders["bare_numpy"] = lambda: bare_keras(recipe, directory,
                                                          same_pipeline=False)
        for run in contenders.values():
            run()  # warm-up, not counted
        wall: dict[str, list[float]] = {name: [] for name in contenders}
        cpu: dict[str, list[float]] = {name: [] for name in contenders}
        for repeat in range(arguments.repeats):
            pair = ["kerazoo", "bare"] if repeat % 2 == 0 else ["bare", "kerazoo"]
            for name in pair + [name for name in contenders if name not in pair]:
                seconds, cpu_seconds = timed(contenders[name], fresh_helper=(
                    arguments.fresh_helper and name == "kerazoo"))
                wall[name].append(seconds)
                cpu[name].append(cpu_seconds)
            print(f"repeat {repeat + 1}: " + ", ".join(
                f"{name} {wall[name][-1]:.2f} s" for name in contenders), flush=True)

    def ratios(times: dict[str, list[float]], baseline: str) -> list[float]:
        return [k / b for k, b in zip(times["kerazoo"], times[baseline], strict=True)]

    print("median seconds: " + ", ".join(
        f"{name} {statistics.median(wall[name]):.2f}" for name in contenders))
    added = statistics.median(k - b for k, b in zip(wall["kerazoo"], wall["bare"], strict=True))
    print(f"median seconds kerazoo adds to the bare run: {added:.2f}")
    if arguments.numpy:
        print(f"median kerazoo / bare fit on NumPy arrays: "
              f"{statistics.median(ratios(wall, 'bare_numpy')):.3f}")
    print(f"fastest kerazoo run / fastest bare run: "
          f"{min(wall['kerazoo']) / min(wall['bare']):.3f}")
    # TensorFlow runs of the same model on this machine fall into a fast and a slow mode
    # (1-epoch char_rnn: 27 s or 43 s, either contender, at random), which pairs a fast run
    # with a slow one in some rounds; the lower quartiles compare the fast modes.
    quartile = {name: statistics.quantiles(wall[name], n=4)[0] for name in ("kerazoo", "bare")}
    print(f"lower-quartile kerazoo run / lower-quartile bare run: "
          f"{quartile['kerazoo'] / quartile['bare']:.3f}")
    print(f"median CPU-time ratio (this process; the figure helper's not counted): "
          f"{statistics.median(ratios(cpu, 'bare')):.3f}")
    per_round = ratios(wall, "bare")
    low, high = statistics.quantiles(per_round, n=4)[::2]
    print(f"per-round ratios: middle half between {low:.3f} and {high:.3f}")
    low, high = median_interval(per_round)
    print(f"95 % bootstrap interval of the median ratio: {low:.3f} to {high:.3f}")
    print(f"{arguments.recipe}, {recipe.train.epochs} epochs, backend "
          f"{keras.backend.backend()}, {arguments.repeats} rounds: median kerazoo / bare fit "
          f"on the same pipeline: {statistics.median(per_round):.3f}")


if __name__ == "__main__":
    main()
