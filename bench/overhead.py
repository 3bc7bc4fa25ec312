"""What kerazoo's tracking costs: the `mlp_digits` recipe under kerazoo (params, per-epoch
metrics, test metrics, tags, learning-curve PNG, logged MLflow model) against a bare Keras
script doing the same work (load data, build, compile, `fit`, `evaluate`, `model.save`).

Two baselines, because the input pipeline alone moves the figure:
- "bare, same pipeline": `fit` on the same `tf.data` pipeline kerazoo uses, so the ratio is
  the cost of tracking and nothing else (the headline figure, last line);
- "bare, NumPy arrays": `fit(x, y)` as most scripts write it.

One process, the three interleaved (order rotated every repeat), one warm-up each that is not
counted (it pays one-off imports and graph tracing), then REPEATS timed rounds.

    .venv/bin/python bench/overhead.py [--repeats 7] [--epochs N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

from kerazoo.data import load_data, pipeline  # noqa: E402
from kerazoo.recipe import load_recipe  # noqa: E402
from kerazoo.runner import build_model, compile_model, run_recipe  # noqa: E402


def bare_keras(recipe, directory: Path, same_pipeline: bool) -> float:
    start = time.perf_counter()
    keras.utils.set_random_seed(recipe.seed)
    data = load_data(recipe.data.name, seed=recipe.seed, **recipe.data.kwargs)
    model = build_model(recipe.model, data.model_hints)
    compile_model(model, recipe, recipe.train.learning_rate)
    batch_size, epochs = recipe.train.batch_size, recipe.train.epochs
    if same_pipeline:
        model.fit(pipeline.training_dataset(data.train, batch_size, recipe.seed, epochs),
                  steps_per_epoch=pipeline.steps_per_epoch(data.train, batch_size),
                  validation_data=pipeline.evaluation_dataset(data.validation, batch_size),
                  epochs=epochs, shuffle=False, verbose=0)
        model.evaluate(pipeline.evaluation_dataset(data.test, batch_size), verbose=0)
    else:
        model.fit(data.train.x, data.train.y, batch_size=batch_size, epochs=epochs,
                  validation_data=(data.validation.x, data.validation.y), verbose=0)
        model.evaluate(data.test.x, data.test.y, batch_size=batch_size, verbose=0)
    model.save(directory / "model.keras")
    return time.perf_counter() - start


def kerazoo_run(recipe, uri: str) -> float:
    start = time.perf_counter()
    run_recipe(recipe, tracking_uri=uri, verbose=0)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--recipe", default="mlp_digits")
    parser.add_argument("--epochs", type=int, default=None, help="default: the recipe's")
    arguments = parser.parse_args()
    overrides = [f"train.epochs={arguments.epochs}"] if arguments.epochs else []
    recipe = load_recipe(arguments.recipe, overrides)
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        uri = f"sqlite:///{directory / 'mlflow.db'}"
        os.chdir(directory)  # artifacts land in the scratch folder
        contenders = {
            "bare_pipeline": lambda: bare_keras(recipe, directory, same_pipeline=True),
            "bare_numpy": lambda: bare_keras(recipe, directory, same_pipeline=False),
            "kerazoo": lambda: kerazoo_run(recipe, uri),
        }
        for run in contenders.values():
            run()  # warm-up, not counted
        times: dict[str, list[float]] = {name: [] for name in contenders}
        names = list(contenders)
        for repeat in range(arguments.repeats):
            # rotate the order so drift in machine load hits every contender alike
            for name in names[repeat % 3:] + names[:repeat % 3]:
                times[name].append(contenders[name]())
            print(f"repeat {repeat + 1}: " + ", ".join(
                f"{name} {times[name][-1]:.2f} s" for name in names), flush=True)
    versus_pipeline = statistics.median(
        k / b for k, b in zip(times["kerazoo"], times["bare_pipeline"], strict=True))
    versus_numpy = statistics.median(
        k / b for k, b in zip(times["kerazoo"], times["bare_numpy"], strict=True))
    print("median seconds: " + ", ".join(
        f"{name} {statistics.median(times[name]):.2f}" for name in names))
    extra = statistics.median(
        k - b for k, b in zip(times["kerazoo"], times["bare_pipeline"], strict=True))
    print(f"median seconds kerazoo adds to the same-pipeline fit: {extra:.2f}")
    print(f"median kerazoo / bare fit on NumPy arrays: {versus_numpy:.3f}")
    print(f"{arguments.recipe}, {recipe.train.epochs} epochs, backend "
          f"{keras.backend.backend()}, {arguments.repeats} repeats: median kerazoo / bare fit "
          f"on the same pipeline: {versus_pipeline:.3f}")


if __name__ == "__main__":
    main()
