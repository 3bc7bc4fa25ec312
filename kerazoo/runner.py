"""Run a validated recipe: data -> builder -> compile -> fit -> evaluate -> tracking.

Everything that can fail on user input (data, model arguments, optimizer, loss, callbacks,
the tracking store) happens in `prepare`, before an MLflow run exists, so a mistake never
leaves a run behind.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import yaml

import kerazoo
from kerazoo import plots, tracking
from kerazoo.callbacks import find_learning_rate, lr_finder_plot, make_callback
from kerazoo.callbacks.lr_finder import LRFinderResult
from kerazoo.data import DataSplits, load_data, pipeline
from kerazoo.determinism import seed_everything
from kerazoo.errors import KerazooError, did_you_mean
from kerazoo.recipe import NamedSection, Recipe, Train
from kerazoo.registry import build, model_info, model_registry

# How much of each split `--smoke` keeps: enough for every metric to be defined.
SMOKE_SIZES = {"train": 256, "validation": 64, "test": 64}
# Batches the LR range test sweeps over (`learning_rate: auto`, `kerazoo lr-find`).
LR_FINDER_STEPS = 100


@dataclass
class Prepared:
    recipe: Recipe
    data: DataSplits
    model: keras.Model
    callbacks: list[keras.callbacks.Callback]
    deterministic_ops: bool
    lr_finder: LRFinderResult | None = None  # the range test, when learning_rate is 'auto'


@dataclass
class RunResult:
    run_id: str | None
    metrics: dict[str, float]
    history: dict[str, list[float]]
    model: keras.Model
    data: DataSplits


def _in_section(path: str, recipe: Recipe, error: Exception) -> KerazooError:
    return KerazooError(f"recipe {recipe.name!r}: {path}: {error}")


def build_model(section: NamedSection, hints: dict[str, Any]) -> keras.Model:
    """Build with the recipe's keywords, filling the ones the data determines (input shape,
    number of classes, vocabulary size) when the builder takes them and the recipe is silent."""
    parameters = model_registry.get(section.name).parameters
    kwargs = {key: value for key, value in hints.items() if key in parameters}
    kwargs.update(section.kwargs)
    return build(section.name, **kwargs)


def make_optimizer(train: Train, learning_rate: float) -> keras.optimizers.Optimizer:
    from kerazoo.registry import Entry

    try:
        optimizer_class = type(keras.optimizers.get(train.optimizer))
    except ValueError:
        known = ["adadelta", "adafactor", "adagrad", "adam", "adamax", "adamw", "ftrl", "lamb",
                 "lion", "muon", "nadam", "rmsprop", "sgd"]
        raise KerazooError(f"train.optimizer: unknown optimizer {train.optimizer!r}"
                           f"{did_you_mean(train.optimizer, known)}; accepted: "
                           f"{', '.join(known)}") from None
    Entry(train.optimizer, optimizer_class).check_keywords(train.optimizer_kwargs, "optimizer")
    return optimizer_class(learning_rate=learning_rate, **train.optimizer_kwargs)


def compile_model(model: keras.Model, recipe: Recipe, learning_rate: float) -> None:
    info = model_info(recipe.model.name)
    loss = recipe.train.loss or info.loss
    if loss is None:
        raise KerazooError(f"recipe {recipe.name!r}: train.loss: model {recipe.model.name!r} "
                           "declares no default loss; set train.loss")
    try:
        keras.losses.get(loss)
    except (ValueError, TypeError):
        raise KerazooError(f"recipe {recipe.name!r}: train.loss: unknown Keras loss "
                           f"{loss!r}, e.g. 'sparse_categorical_crossentropy', "
                           "'mean_squared_error'") from None
    metrics = list(recipe.train.metrics if recipe.train.metrics is not None else info.metrics)
    for metric in metrics:
        if metric not in ("accuracy", "acc", "crossentropy"):
            try:
                keras.metrics.get(metric)
            except (ValueError, TypeError):
                raise KerazooError(f"recipe {recipe.name!r}: train.metrics: unknown Keras "
                                   f"metric {metric!r}, e.g. 'accuracy', "
                                   "'mean_absolute_error'") from None
    model.compile(optimizer=make_optimizer(recipe.train, learning_rate), loss=loss,
                  metrics=metrics, jit_compile=recipe.train.jit_compile)


def prepare(recipe: Recipe, smoke: bool = False) -> Prepared:
    """Everything before training; raises `KerazooError` naming the recipe key at fault."""
    deterministic_ops = seed_everything(recipe.seed, recipe.train.deterministic)
    try:
        data = load_data(recipe.data.name, seed=recipe.seed, **recipe.data.kwargs)
    except KerazooError as error:
        raise _in_section("data", recipe, error) from None
    if smoke:
        data = data.head(**SMOKE_SIZES)
    try:
        model = build_model(recipe.model, data.model_hints)
    except KerazooError as error:
        raise _in_section("model", recipe, error) from None
    learning_rate, lr_finder = recipe.train.learning_rate, None
    if learning_rate == "auto":
        lr_finder = find_recipe_learning_rate(model, recipe, data)
        learning_rate = lr_finder.suggestion
    compile_model(model, recipe, float(learning_rate))
    callbacks = []
    for index, section in enumerate(recipe.callbacks):
        try:
            callbacks.append(make_callback(section.name, **section.kwargs))
        except (KerazooError, TypeError, ValueError) as error:
            raise _in_section(f"callbacks.{index}", recipe, error) from None
    return Prepared(recipe, data, model, callbacks, deterministic_ops, lr_finder)


def find_recipe_learning_rate(model: keras.Model, recipe: Recipe,
                              data: DataSplits) -> LRFinderResult:
    """The LR range test with the recipe's optimizer on its training batches; the model's
    weights are unchanged afterwards."""
    compile_model(model, recipe, 1e-7)  # the finder sets the rate at every step
    batch_size = recipe.train.batch_size
    steps = pipeline.steps_per_epoch(data.train, batch_size)
    epochs = -(-LR_FINDER_STEPS // steps)
    batches = pipeline.training_dataset(data.train, batch_size, recipe.seed, epochs,
                                        shuffle=recipe.train.shuffle)
    return find_learning_rate(model, batches, steps_per_epoch=steps, num_steps=LR_FINDER_STEPS)


def log_lr_finder(run: tracking.TrackedRun, result: LRFinderResult) -> None:
    run.log_params({"lr_finder.suggestion": result.suggestion,
                    "lr_finder.steepest": result.steepest,
                    "lr_finder.minimum_over_10": result.minimum_over_10})
    figure = lr_finder_plot.figure(result)
    run.log_figure(figure, "plots/lr_finder.png")
    plots.close(figure)


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """{'train': {'epochs': 3}} -> {'train.epochs': 3}; lists of sections get indices."""
    if isinstance(data, dict):
        items: dict[str, Any] = {}
        for key, value in data.items():
            items.update(flatten(value, f"{prefix}{key}."))
        return items
    if isinstance(data, list) and data and all(isinstance(item, dict) for item in data):
        items = {}
        for index, value in enumerate(data):
            items.update(flatten(value, f"{prefix}{index}."))
        return items
    return {prefix.rstrip("."): data}


def git_commit() -> str | None:
    try:
        result = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=5, cwd=Path(kerazoo.__file__).parent)
    except (OSError, subprocess.SubprocessError):
        return None
    if result.returncode != 0:
        return None
    return result.stdout.strip() or None


def run_tags(prepared: Prepared, smoke: bool) -> dict[str, str]:
    recipe = prepared.recipe
    tags = {
        "kerazoo.recipe": recipe.name,
        "kerazoo.recipe_hash": recipe.content_hash(),
        "kerazoo.model": recipe.model.name,
        "kerazoo.data": recipe.data.name,
        "kerazoo.version": kerazoo.__version__,
        "kerazoo.keras_version": keras.__version__,
        "kerazoo.backend": keras.backend.backend(),
        "kerazoo.seed": str(recipe.seed),
        "kerazoo.deterministic_ops": str(prepared.deterministic_ops).lower(),
        "kerazoo.smoke": str(smoke).lower(),
    }
    commit = git_commit()
    if commit:
        tags["kerazoo.git_commit"] = commit
    return tags


@contextlib.contextmanager
def sigterm_as_interrupt():
    """Turn SIGTERM into KeyboardInterrupt so a terminated run ends KILLED, not RUNNING."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"received signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def fit(prepared: Prepared, extra_callbacks: list[keras.callbacks.Callback],
        verbose: int | str = 2) -> keras.callbacks.History:
    recipe, data = prepared.recipe, prepared.data
    batch_size = recipe.train.batch_size
    return prepared.model.fit(
        pipeline.training_dataset(data.train, batch_size, recipe.seed, recipe.train.epochs,
                                  shuffle=recipe.train.shuffle),
        steps_per_epoch=pipeline.steps_per_epoch(data.train, batch_size),
        validation_data=pipeline.evaluation_dataset(data.validation, batch_size),
        epochs=recipe.train.epochs,
        callbacks=[*prepared.callbacks, *extra_callbacks],
        shuffle=False,  # the dataset shuffles, reproducibly per epoch
        verbose=verbose,
    )


def evaluate(prepared: Prepared) -> dict[str, float]:
    results = prepared.model.evaluate(
        pipeline.evaluation_dataset(prepared.data.test, prepared.recipe.train.batch_size),
        return_dict=True, verbose=0)
    return {f"test_{name}": float(value) for name, value in results.items()}


def run_recipe(recipe: Recipe, *, smoke: bool = False, tracking_uri: str | None = None,
               verbose: int | str = 2) -> RunResult:
    """Train, evaluate and log one recipe; returns the run id, test metrics and the model."""
    prepared = prepare(recipe, smoke)
    uri = tracking.tracking_uri(tracking_uri)
    tracking.prepare_store(uri)
    with sigterm_as_interrupt(), tracking.TrackedRun(
        recipe.experiment, run_name=recipe.name, tags=run_tags(prepared, smoke), uri=uri
    ) as run:
        resolved = recipe.resolved()
        run.log_params({**flatten(resolved),
                        **flatten(prepared.data.fingerprint(), "data_fingerprint.")})
        run.log_text(yaml.safe_dump(resolved, sort_keys=False), "recipe.yaml")
        if recipe.source_path is not None:
            run.log_artifact(recipe.source_path, "recipe_file")
        if prepared.lr_finder is not None:
            log_lr_finder(run, prepared.lr_finder)
        history = fit(prepared, [run.callback()], verbose=verbose)
        metrics = evaluate(prepared)
        run.log_metrics(metrics, step=len(history.epoch), flush=True)
        figure = plots.learning_curves(history.history)
        run.log_figure(figure, "plots/learning_curves.png")
        plots.close(figure)
        run.log_keras_model(prepared.model, _examples(prepared.data.test.x))
        return RunResult(run.run_id, metrics, history.history, prepared.model, prepared.data)


def _examples(x, count: int = 5):
    return tuple(array[:count] for array in x) if isinstance(x, tuple) else x[:count]
