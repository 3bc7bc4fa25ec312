"""Run a validated recipe: data -> builder -> compile -> fit -> evaluate -> tracking.

Every check that can fail on user input happens before an MLflow run exists, cheapest first:
the tracking store and the run to resume, then in `prepare` the data, the model's arguments,
the callbacks against the model, the optimizer, and the loss against the model's outputs and
the data's targets (computed once on two samples). A mistake found there leaves no run
behind; what fails later (a diverging loss, a bug) ends the run FAILED, an interruption KILLED.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import shutil
import socket
import subprocess
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import yaml

import kerazoo
from kerazoo import plots, reports
from kerazoo.callbacks import find_learning_rate, lr_finder_plot, make_callback
from kerazoo.callbacks.lr_finder import LRFinderResult
from kerazoo.config.recipe import NamedSection, Recipe, Train
from kerazoo.data import DataSplits, load_data, pipeline
from kerazoo.data.splits import take
from kerazoo.errors import KerazooError, did_you_mean
from kerazoo.models.output_spec import zeros_like_outputs
from kerazoo.registry import build, model_info, model_registry
from kerazoo.tracking import presets
from kerazoo.tracking import runs as tracking
from kerazoo.tracking.painter import Painter, shared_painter
from kerazoo.tracking.writable import check_writable
from kerazoo.training import distributed, interrupts, model_memory
from kerazoo.training.checkpoint import TrainingStateBackup, saved_epoch
from kerazoo.training.determinism import seed_everything
from kerazoo.training.guards import FailOnNonFiniteLoss
from kerazoo.training.precision import dtype_policy
from kerazoo.training.threads import apply_intra_op_threads

# How much of each split `--smoke` keeps: enough for every metric to be defined.
SMOKE_SIZES = {"train": 256, "validation": 64, "test": 64}
# Each run's local folder (training state for --resume, recipe outputs), under the cwd.
RUNS_DIR = Path("mlruns") / "runs"
# Batches the LR range test sweeps over (`learning_rate: auto`, `kerazoo lr-find`).
LR_FINDER_STEPS = 100


@dataclass
class Prepared:
    recipe: Recipe
    data: DataSplits
    model: keras.Model
    callbacks: list[keras.callbacks.Callback]
    deterministic_ops: bool
    # Where the model and batches live (train.distribute); one device unless asked.
    replicas: distributed.Replicas = field(default_factory=distributed.Replicas)
    lr_finder: LRFinderResult | None = None  # the range test, when learning_rate is 'auto'
    intra_op_threads: int | None = None  # in force while it trains (0: every core)


@dataclass
class RunResult:
    run_id: str | None
    metrics: dict[str, float]
    history: dict[str, list[float]]
    model: keras.Model
    data: DataSplits
    experiment: str | None = None  # the MLflow experiment's name and id (None off rank 0)
    experiment_id: str | None = None
    registered: presets.Registered | None = None  # the registry version this run made
    lr_finder: LRFinderResult | None = None  # the LR range test, when learning_rate was 'auto'
    lr_finder: LRFinderResult | None = None  # the LR range test, when learning_rate was 'auto'


def _in_section(path: str, recipe: Recipe, error: Exception) -> KerazooError:
    return KerazooError(f"recipe {recipe.name!r}: {path}: {error}")


def build_model(section: NamedSection, hints: dict[str, Any]) -> keras.Model:
    """Build with the recipe's keywords, filling the ones the data determines (input shape,
    number of classes, vocabulary size) when the builder takes them and the recipe is silent."""
    parameters = model_registry.get(section.name).parameters
    kwargs = {key: value for key, value in hints.items() if key in parameters}
    kwargs.update(section.kwargs)
    try:
        model = build(section.name, **kwargs)
    except Exception as error:
        if not model_memory.out_of_memory(error):
            raise
        raise _too_large(section, "model", "its weights do not fit in this machine's "
                         "memory") from None
    # A plugin's subclassed model may have no weights until it is called; it is not counted.
    reason = model_memory.too_large(model.count_params()) if model.built else None
    if reason:
        raise _too_large(section, "model", reason)
    return model


def _too_large(section: NamedSection, kind: str, reason: str) -> KerazooError:
    """The one-line error for a model or data too large for memory, naming the keywords the
    recipe gave (the sizes at fault are among them)."""
    given = ", ".join(f"{key}={value!r}" for key, value in section.kwargs.items())
    return KerazooError(f"{kind} {section.name!r} is too large: {reason}; make it smaller. "
                        f"Received: {given or 'the defaults'}")


def optimizer_names() -> list[str]:
    """The optimizers `keras.optimizers.get` knows, by the lower-case names recipes use."""
    return sorted(
        name.lower() for name, value in vars(keras.optimizers).items()
        if isinstance(value, type) and issubclass(value, keras.optimizers.Optimizer)
        and value is not keras.optimizers.Optimizer and "LossScale" not in name)


def make_optimizer(train: Train, learning_rate: float) -> keras.optimizers.Optimizer:
    try:
        optimizer_class = type(keras.optimizers.get(train.optimizer))
    except ValueError:
        known = optimizer_names()
        raise KerazooError(f"train.optimizer: unknown optimizer {train.optimizer!r}"
                           f"{did_you_mean(train.optimizer, known)}; accepted: "
                           f"{', '.join(known)}") from None
    # Optimizers pass **kwargs on to the base class, so accept the names of both; a value
    # must have the type of the default (a string for beta_1 would only fail mid-training).
    defaults = {name: parameter.default
                for cls in (keras.optimizers.Optimizer, optimizer_class)
                for name, parameter in inspect.signature(cls.__init__).parameters.items()
                if parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY)
                and name not in ("self", "learning_rate")}
    for keyword, value in train.optimizer_kwargs.items():
        if keyword not in defaults:
            raise KerazooError(
                f"train.optimizer_kwargs: optimizer {train.optimizer!r} has no argument "
                f"{keyword!r}{did_you_mean(keyword, defaults)}; accepted: "
                f"{', '.join(sorted(defaults))}")
        default = defaults[keyword]
        numeric = isinstance(default, int | float) and not isinstance(default, bool)
        if numeric and (isinstance(value, bool) or not isinstance(value, int | float)) or \
                isinstance(default, bool) and not isinstance(value, bool):
            raise KerazooError(
                f"train.optimizer_kwargs: `{keyword}` must be "
                f"{'true or false' if isinstance(default, bool) else 'a number'} "
                f"(default {default!r}). Received: {keyword}={value!r}")
    try:
        return optimizer_class(learning_rate=learning_rate, **train.optimizer_kwargs)
    except (ValueError, TypeError) as error:
        raise KerazooError(f"train.optimizer_kwargs: {error}") from None


def whole_executions(requested: int, steps_per_epoch: int) -> int:
    """The largest steps_per_execution up to `requested` that divides an epoch's steps.

    Keras runs whole executions: at 4 a call and 5 steps an epoch it runs 8 steps an epoch,
    takes the next epoch's batches from kerazoo's one-stream dataset (so epochs no longer
    match their shuffles, which `--resume` relies on) and stops the last epoch short when the
    stream runs out.
    """
    return max(count for count in range(1, min(requested, steps_per_epoch) + 1)
               if steps_per_epoch % count == 0)


def compile_model(model: keras.Model, recipe: Recipe, learning_rate: float,
                  steps_per_epoch: int | None = None, one_step_a_call: bool = False) -> None:
    """Compile as the recipe says; given the epoch's steps, steps_per_execution divides them
    (`whole_executions`). `one_step_a_call` where something must see every step (Keras calls
    batch hooks once a call) or Keras cannot run several in one call (MirroredStrategy)."""
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
    metrics = compiled_metric_names(recipe)
    for metric in metrics:
        if metric not in ("accuracy", "acc", "crossentropy"):
            try:
                keras.metrics.get(metric)
            except (ValueError, TypeError):
                raise KerazooError(f"recipe {recipe.name!r}: train.metrics: unknown Keras "
                                   f"metric {metric!r}, e.g. 'accuracy', "
                                   "'mean_absolute_error'") from None
    try:
        optimizer = make_optimizer(recipe.train, learning_rate)
    except KerazooError as error:
        raise KerazooError(f"recipe {recipe.name!r}: {error}") from None
    requested = recipe.train.steps_per_execution
    if requested == "epoch":
        requested = steps_per_epoch or 1
    steps_per_execution = 1 if one_step_a_call else requested
    if steps_per_epoch is not None:
        steps_per_execution = whole_executions(steps_per_execution, steps_per_epoch)
    model.compile(optimizer=optimizer, loss=loss, metrics=metrics,
                  jit_compile=recipe.train.jit_compile, steps_per_execution=steps_per_execution)


def compiled_metric_names(recipe: Recipe) -> list[str]:
    metrics = recipe.train.metrics
    return list(metrics if metrics is not None else model_info(recipe.model.name).metrics)


def epoch_metric_names(recipe: Recipe) -> list[str]:
    """The per-epoch numbers a run logs: loss, the compiled metrics and the task's own (bits
    per character), each with its `val_` twin."""
    task = model_info(recipe.model.name).task
    names = ["loss", *compiled_metric_names(recipe),
             *(name for callback in reports.epoch_callbacks(task) for name in callback.names)]
    return names + [f"val_{name}" for name in names]


def check_loss_fits(model: keras.Model, recipe: Recipe, data: DataSplits) -> None:
    """Compute the loss on two training samples, eagerly: a loss that does not fit the
    model's outputs or the data's targets fails here, not as a traceback mid-run. The
    outputs are zeros of the inferred shapes: the check is about shapes and types."""
    x, y = take(data.train.x, slice(0, 2)), data.train.y[:2]
    try:
        model.compute_loss(x=x, y=y, y_pred=zeros_like_outputs(model, x))
    except Exception as error:  # any failure here means the pieces do not fit together
        message = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise KerazooError(
            f"recipe {recipe.name!r}: train.loss: {recipe.train.loss or model.loss!r} does not "
            f"fit model {recipe.model.name!r} (outputs {model.output_shape}) and data "
            f"{recipe.data.name!r} (targets {y.shape[1:]} {y.dtype}): "
            f"{type(error).__name__}: {message[:200]}") from None


BATCH_HOOKS = ("on_train_batch_begin", "on_train_batch_end", "on_batch_begin", "on_batch_end")


def acts_every_batch(callback: keras.callbacks.Callback) -> bool:
    """Whether a recipe's callback must run before or after every training step. Keras calls
    batch hooks once per compiled call, so such a callback keeps steps_per_execution at 1.
    A callback can say so itself (`acts_every_batch`, e.g. a schedule that is per epoch);
    otherwise any batch hook it overrides counts."""
    declared = getattr(callback, "acts_every_batch", None)
    if declared is not None:
        return bool(declared)

    def overridden(hook: str) -> bool:  # a method of a subclass, or a function set on the
        method = getattr(callback, hook)  # instance (LambdaCallback)
        return getattr(method, "__func__", method) is not getattr(keras.callbacks.Callback, hook)

    return any(map(overridden, BATCH_HOOKS))


def check_callbacks(callbacks: list[keras.callbacks.Callback], model: keras.Model,
                    recipe: Recipe) -> None:
    """Mistakes a callback would only find once training started (a scheduler with nothing
    to schedule, a monitored metric the run does not log) are found before the run exists."""
    known = epoch_metric_names(recipe)
    for index, callback in enumerate(callbacks):
        try:
            if hasattr(callback, "check_model"):
                callback.check_model(model)
            monitor = getattr(callback, "monitor", None)
            if isinstance(monitor, str) and monitor not in known:
                raise KerazooError(f"`monitor` must be a metric the run logs each epoch"
                                   f"{did_you_mean(monitor, known)}; accepted: "
                                   f"{', '.join(known)}. Received: monitor={monitor!r}")
        except KerazooError as error:
            raise _in_section(f"callbacks.{index}", recipe, error) from None


def prepare(recipe: Recipe, smoke: bool = False,
            replicas: distributed.Replicas | None = None,
            extra_callbacks: Sequence[keras.callbacks.Callback] = ()) -> Prepared:
    """Everything before training; raises `KerazooError` naming the recipe key at fault.
    `extra_callbacks` are those `fit` will add: one acting on every batch is compiled for."""
    intra_op_threads = apply_intra_op_threads(recipe.train.intra_op_threads)  # before any op
    replicas = replicas or distributed.replicas_for(recipe.train.distribute)
    with replicas.scope():  # variables are created where the strategy places them; fit and
        # evaluate run outside (Keras keeps the strategy from compile, and a data-parallel
        # process has its distribution set for good)
        prepared = _prepare_in_scope(recipe, smoke, replicas, extra_callbacks)
    prepared.replicas = replicas
    prepared.intra_op_threads = intra_op_threads
    return prepared


def _prepare_in_scope(recipe: Recipe, smoke: bool, replicas: distributed.Replicas,
                      extra_callbacks: Sequence[keras.callbacks.Callback]) -> Prepared:
    deterministic_ops = seed_everything(recipe.seed, recipe.train.deterministic)
    try:
        data = load_data(recipe.data.name, seed=recipe.seed, **recipe.data.kwargs)
    except KerazooError as error:
        raise _in_section("data", recipe, error) from None
    except Exception as error:
        if not model_memory.out_of_memory(error):
            raise
        raise _in_section("data", recipe, _too_large(
            recipe.data, "data loader", "it asks for more memory than this machine has "
            f"({' '.join(str(error).split())[:120]})")) from None
    if smoke:
        data = data.head(**SMOKE_SIZES)
    try:
        with dtype_policy(recipe.train.precision):
            model = build_model(recipe.model, data.model_hints)
    except KerazooError as error:
        raise _in_section("model", recipe, error) from None
    callbacks = []
    for index, section in enumerate(recipe.callbacks):
        try:
            callbacks.append(make_callback(section.name, **section.kwargs))
        except (KerazooError, TypeError, ValueError) as error:
            raise _in_section(f"callbacks.{index}", recipe, error) from None
    check_callbacks(callbacks, model, recipe)
    learning_rate, lr_finder = recipe.train.learning_rate, None
    steps = replicas.steps_per_epoch(len(data.train), recipe.train.batch_size)  # as fit's
    for callback in [*callbacks, *extra_callbacks]:  # as fit will: an answer may depend on
        callback.set_model(model)  # the model (LRScheduler under loss scaling)
    one_step = replicas.one_step_a_call or any(map(acts_every_batch,
                                                   [*callbacks, *extra_callbacks]))
    compile_model(model, recipe, 1e-3 if learning_rate == "auto" else float(learning_rate), steps,
                  one_step)
    check_loss_fits(model, recipe, data)
    if learning_rate == "auto":
        lr_finder = find_recipe_learning_rate(model, recipe, data)
        compile_model(model, recipe, lr_finder.suggestion, steps, one_step)
    return Prepared(recipe, data, model, callbacks, deterministic_ops, lr_finder=lr_finder)


def find_recipe_learning_rate(model: keras.Model, recipe: Recipe,
                              data: DataSplits) -> LRFinderResult:
    """The LR range test with the recipe's optimizer on its training batches; the model's
    weights are unchanged afterwards."""
    batch_size = recipe.train.batch_size
    steps = pipeline.steps_per_epoch(data.train, batch_size)
    # one step a call: the finder sets the rate before every step
    compile_model(model, recipe, 1e-7, one_step_a_call=True)
    epochs = -(-LR_FINDER_STEPS // steps)
    batches = pipeline.training_dataset(data.train, batch_size, recipe.seed, epochs,
                                        shuffle=recipe.train.shuffle)
    return find_learning_rate(model, batches, steps_per_epoch=steps, num_steps=LR_FINDER_STEPS)


def log_lr_finder(run: tracking.TrackedRun, result: LRFinderResult) -> None:
    run.log_params({"lr_finder.suggestion": result.suggestion,
                    "lr_finder.steepest": result.steepest,
                    "lr_finder.minimum_over_10": result.minimum_over_10})
    figure = lr_finder_plot.figure(result)
    run.log_figure(figure, "plots/lr_finder.png", plots.SAVE_OPTIONS)
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


def _git(*arguments: str) -> str | None:
    """Ask git about kerazoo's own source folder (an editable install's checkout)."""
    try:
        result = subprocess.run(["git", *arguments], capture_output=True, text=True, timeout=5,
                                cwd=Path(kerazoo.__file__).parent)
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def git_tags() -> dict[str, str]:
    """The commit kerazoo's source is at, and whether it has uncommitted changes."""
    commit = _git("rev-parse", "HEAD")
    if not commit:
        return {}
    changes = _git("status", "--porcelain", "--untracked-files=no", "--", ".")
    return {"kerazoo.git_commit": commit,
            "kerazoo.git_dirty": "unknown" if changes is None else str(bool(changes)).lower()}


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
        "kerazoo.steps_per_execution": str(prepared.model.steps_per_execution),
        "kerazoo.intra_op_threads": ("n/a" if prepared.intra_op_threads is None
                                     else str(prepared.intra_op_threads or "all")),
        "kerazoo.smoke": str(smoke).lower(),
        **git_tags(),
    }
    if recipe.description.strip():  # the run's description in MLflow's UI
        tags["mlflow.note.content"] = recipe.description.strip()
    return tags


def run_params(prepared: Prepared, fingerprint: dict[str, Any]) -> dict[str, Any]:
    """The recipe as flat params, with what its defaults resolved to (the loss, the metrics,
    the optimizer's whole config) and the model's size. Smoke overrides are not params (a
    smoke run's values already show them), nor are unset values ("None" says nothing)."""
    recipe, model = prepared.recipe, prepared.model
    params = {key: value for key, value in flatten(recipe.resolved()).items()
              if not key.startswith("smoke.")}
    params["train.loss"] = recipe.train.loss or model_info(recipe.model.name).loss
    params["train.metrics"] = compiled_metric_names(recipe)
    # Without its instance name, which Keras numbers per process (adam_3) and which would
    # make identical runs differ in `kerazoo compare`; train.optimizer names it.
    optimizer = {key: value for key, value in model.optimizer.get_config().items()
                 if key != "name"}
    params.update(flatten(optimizer, "optimizer."))
    params["model.parameters"] = model.count_params()
    params.update(flatten(fingerprint, "data_fingerprint."))
    return {key: value for key, value in params.items()
            if value is not None and str(value) != "None"}


def dataset_inputs(data: DataSplits, digest: str) -> dict[str, Any]:
    """The three splits as MLflow dataset inputs by context; `digest` is the data's content
    hash, computed once per run, which with each split's name tells versions apart."""
    splits = {"training": ("train", data.train), "validation": ("validation", data.validation),
              "testing": ("test", data.test)}
    return {context: tracking.numpy_dataset(f"{data.name}-{name}", data.source, digest,
                                            split.x, split.y)
            for context, (name, split) in splits.items()}


def model_card(prepared: Prepared, run: tracking.TrackedRun,
               metrics: dict[str, float]) -> tuple[str, dict[str, str]]:
    """A registered version's description and tags: which recipe, data and seed made it, its
    size, its quality against the recipe's floor, and where its run is."""
    recipe, data = prepared.recipe, prepared.data
    info = model_info(recipe.model.name)
    sizes = ", ".join(f"{count:,} {split}" for split, count in data.sizes().items())
    lines = [recipe.description.strip() or f"{recipe.model.name} on {data.name}", "",
             f"- recipe: {recipe.name} (model {recipe.model.name}, hash "
             f"{recipe.content_hash()})",
             f"- data: {data.name} ({sizes}); source: {data.source}",
             f"- seed: {recipe.seed}",
             f"- parameters: {prepared.model.count_params():,}"]
    tags = {"task": info.task, "input_kind": info.input_kind, "kerazoo.recipe": recipe.name,
            "kerazoo.data": data.name, "kerazoo.seed": str(recipe.seed)}
    if recipe.quality is not None:
        quality = recipe.quality
        value = metrics.get(quality.metric)
        shown = "not measured" if value is None else f"{value:.4f}"
        bound = ">=" if quality.mode == "max" else "<="
        lines.append(f"- quality: {quality.metric} = {shown} (floor {bound} {quality.floor})")
        tags["kerazoo.quality_metric"] = quality.metric
    lines.append(f"- run: {tracking.run_url(run.experiment_id, run.run_id, run.uri)}")
    return "\n".join(lines), tags


def register_model(prepared: Prepared, run: tracking.TrackedRun, model_uri: str,
                   metrics: dict[str, float]) -> presets.Registered | None:
    """Register the run's logged model under the recipe's name, with its model card. A
    registry failure never costs the user the run (a warning), but fails tests (strict)."""
    recipe = prepared.recipe
    quality = recipe.quality and presets.Quality(recipe.quality.metric, recipe.quality.floor,
                                                 recipe.quality.mode)
    description, tags = model_card(prepared, run, metrics)
    try:
        return presets.register(recipe.name, model_uri, run.run_id, quality or None,
                                description, tags)
    except Exception as error:  # the registry is a convenience on top of a finished run
        if tracking.strict():
            raise
        warnings.warn(f"kerazoo: could not register {recipe.name!r}: "
                      f"{type(error).__name__}: {error}", stacklevel=2)
        return None


def process_tags() -> dict[str, str]:
    """Which process is training the run: lets `--resume` refuse a run still being trained."""
    return {"kerazoo.host": socket.gethostname(), "kerazoo.pid": str(os.getpid())}


def fit(prepared: Prepared, extra_callbacks: list[keras.callbacks.Callback],
        verbose: int | str = 2, initial_epoch: int = 0) -> keras.callbacks.History:
    recipe, data, replicas = prepared.recipe, prepared.data, prepared.replicas
    batch_size = recipe.train.batch_size
    for callback in prepared.callbacks:  # Keras shows callbacks no data; SWA needs some to
        if hasattr(callback, "set_batch_norm_data"):  # re-estimate batch-norm statistics
            callback.set_batch_norm_data(pipeline.evaluation_dataset(data.train, batch_size))
    training, steps = replicas.training_data(
        pipeline.training_dataset(data.train, batch_size, recipe.seed, recipe.train.epochs,
                                  initial_epoch=initial_epoch, shuffle=recipe.train.shuffle),
        len(data.train), batch_size)
    return prepared.model.fit(
        training,
        steps_per_epoch=steps,
        validation_data=replicas.evaluation_data(
            pipeline.evaluation_dataset(data.validation, batch_size)),
        epochs=recipe.train.epochs,
        initial_epoch=initial_epoch,
        callbacks=[*prepared.callbacks, *extra_callbacks],
        shuffle=False,  # the dataset shuffles, reproducibly per epoch
        verbose=verbose,
    )


def train_hogwild(prepared: Prepared, run: tracking.TrackedRun,
                  metrics_callback: keras.callbacks.Callback, verbose: int | str) -> None:
    """`train.strategy: hogwild` in place of `fit`: the workers train, and each epoch's
    numbers go through the same metrics callback as fit's (see kerazoo/training/hogwild/)."""
    from kerazoo.training.hogwild import job

    train = prepared.recipe.train
    run.set_tags({"kerazoo.strategy": "hogwild", "kerazoo.workers": str(train.workers),
                  "kerazoo.lock": str(train.lock).lower()})
    metrics_callback.set_model(prepared.model)
    diverged = FailOnNonFiniteLoss()  # the same check, and line, as a fit run's

    def on_epoch_end(epoch: int, logs: dict[str, float]) -> None:
        diverged.on_epoch_end(epoch, logs)
        metrics_callback.on_epoch_end(epoch, logs)
        if verbose:
            numbers = " - ".join(f"{name}: {value:.4g}" for name, value in logs.items()
                                 if "_worker_" not in name)
            print(f"Epoch {epoch + 1}/{train.epochs} - {numbers}", flush=True)

    job.train(prepared.model, prepared.recipe, prepared.data, on_epoch_end,
              announce=(lambda line: print(line, flush=True)) if verbose else
              (lambda line: None))


# --- interruption and resume -------------------------------------------------------------------

@dataclass
class ResumePoint:
    run_id: str
    run_dir: Path
    initial_epoch: int
    data_hash: str | None  # the content hash of the data the run trained on


def _alive_here(tags: dict[str, str]) -> bool:
    """Whether the process that last trained the run is still alive on this host."""
    pid = tags.get("kerazoo.pid", "")
    if tags.get("kerazoo.host") != socket.gethostname() or not pid.isdigit():
        return False  # another host's process cannot be checked from here
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    return True


def resume_point(run_id: str, recipe: Recipe, smoke: bool) -> ResumePoint:
    """Where `--resume RUN_ID` continues; every reason it cannot is a one-line error."""
    run = tracking.find_run(run_id)
    tags = run.data.tags
    if run.info.status == "FINISHED":
        raise KerazooError(f"--resume: run {run_id} already FINISHED; nothing to resume")
    if run.info.status == "RUNNING" and _alive_here(tags):
        raise KerazooError(f"--resume: run {run_id} is RUNNING in process "
                           f"{tags['kerazoo.pid']} on this machine; stop it first")
    if tags.get("kerazoo.recipe_hash") != recipe.content_hash():
        raise KerazooError(
            f"--resume: run {run_id} was started from recipe {tags.get('kerazoo.recipe')!r} "
            f"with other training settings (hash {tags.get('kerazoo.recipe_hash')} vs "
            f"{recipe.content_hash()}); give the same recipe and --set overrides")
    if tags.get("kerazoo.smoke") != str(smoke).lower():
        raise KerazooError(f"--resume: run {run_id} was started "
                           f"{'with' if tags.get('kerazoo.smoke') == 'true' else 'without'} "
                           "--smoke; resume it the same way")
    run_dir = Path(tags.get("kerazoo.run_dir", RUNS_DIR / run_id))
    epoch = saved_epoch(run_dir / "backup")
    if epoch is None:
        raise KerazooError(f"--resume: run {run_id} saved no training state in "
                           f"{run_dir / 'backup'} (it stopped before finishing an epoch, or "
                           "the folder was removed); start a new run")
    return ResumePoint(run_id, run_dir, epoch, run.data.params.get("data_fingerprint.sha256"))


def evaluate(prepared: Prepared) -> dict[str, float]:
    results = prepared.model.evaluate(prepared.replicas.evaluation_data(
        pipeline.evaluation_dataset(prepared.data.test, prepared.recipe.train.batch_size)),
        return_dict=True, verbose=0)
    return {f"test_{name}": float(value) for name, value in results.items()}


def run_reports(run: tracking.TrackedRun, prepared: Prepared, test_metrics: dict[str, float],
                directory: Path, painter: Painter) -> dict[str, float]:
    """The task's reports (kerazoo/reports) into `directory`, their figures through `painter`;
    logs their params and returns their metrics (test_*), which the caller logs with
    evaluate's.

    Not across several processes: Keras' `predict` cannot gather outputs that span other
    processes' devices (JAX), and the reports predict."""
    if prepared.replicas.num_processes > 1:
        run.set_tags({"kerazoo.reports": "skipped: a multi-process run"})
        return {}
    context = reports.ReportContext(
        prepared.model, prepared.data, model_info(prepared.recipe.model.name).task,
        seed=prepared.recipe.seed, batch_size=prepared.recipe.train.batch_size,
        test_metrics=test_metrics, painter=painter)
    output = reports.write_reports(context, directory, strict=tracking.strict())
    run.log_params(output.params)
    return output.metrics


def report_figure_errors(errors: list[str]) -> None:
    """A figure that failed is an error in tests (strict tracking) and a warning otherwise,
    because a picture must not cost the user the run it shows."""
    if errors and tracking.strict():
        raise RuntimeError(f"figures failed: {'; '.join(errors)}")
    for error in errors:
        warnings.warn(f"kerazoo: figure {error}", stacklevel=2)


def run_recipe(recipe: Recipe, *, smoke: bool = False, tracking_uri: str | None = None,
               verbose: int | str = 2, resume_run_id: str | None = None,
               extra_callbacks: Sequence[keras.callbacks.Callback] = (),
               parent_run_id: str | None = None,
               tags: dict[str, str] | None = None, register: bool = True) -> RunResult:
    """Train, evaluate and log one recipe; returns the run id, test metrics and the model.

    With `resume_run_id`, continue that interrupted run from its last completed epoch: same
    MLflow run, history continued without duplicated or missing steps. `extra_callbacks` run
    before the tracking callback (a sweep's pruning callback; one with a batch hook keeps one
    batch a compiled call, see `acts_every_batch`); `parent_run_id` nests the run
    under another (a sweep's trials under the sweep). With several processes only rank 0
    logs; the others return `run_id=None`.

    A finished run registers its model under the recipe's name (kerazoo/tracking/presets.py) unless
    `register` is false, it is a smoke run, or it is nested (a sweep's trial).
    """
    plan = plan_run(recipe, smoke, tracking_uri, resume_run_id)
    prepared = prepare(recipe, smoke, plan.replicas, extra_callbacks)
    # Started now (a recipe that fails to prepare never needs it), the figure helper's
    # imports overlap the first epoch.
    painter = shared_painter() if plan.is_chief else Painter(helper=False)
    fingerprint = prepared.data.fingerprint()  # hashed once: a param, the inputs, the check
    plan.check_data(fingerprint["sha256"])
    inputs = dataset_inputs(prepared.data, fingerprint["sha256"]) if plan.is_chief else {}
    with interrupts.signals_as_interrupt():
        with open_run(plan, prepared, smoke, parent_run_id, tags) as run:
            run_dir = plan.run_dir(run)
            if plan.resume is None:
                log_run_start(run, prepared, fingerprint, inputs, run_dir)
            else:  # this process trains it now
                run.set_tags(process_tags())
            history, backup = train(prepared, run, plan, run_dir, extra_callbacks,
                                    verbose if plan.is_chief else 0)  # rank 0 speaks
            try:
                metrics, model_logged = evaluate_and_log(run, prepared, plan, history,
                                                         run_dir, painter, inputs)
            except KeyboardInterrupt:
                backup.write_last_epoch()  # the trained state: `--resume` goes on from here
                raise
        forget_training_state(run_dir)  # only once the run FINISHED: it is what resumes it
        result = RunResult(run.run_id, metrics, history, prepared.model, prepared.data,
                           plan.experiment if run.run_id else None,
                           getattr(run, "experiment_id", None))
        result.lr_finder = prepared.lr_finder
        # Registered once the run has FINISHED: a version never points at a failed run.
        if register and not smoke and parent_run_id is None and model_logged is not None \
                and run.run_id is not None:
            result.registered = register_model(prepared, run, model_logged.model_uri, metrics)
    return result


@dataclass
class RunPlan:
    """What is decided once, before preparing: the store, the experiment, this process's
    rank and the run it resumes (None for a new run). Only rank 0 (`is_chief`) logs; the
    other ranks of a multi-process job keep their state in a folder of their own."""
    replicas: distributed.Replicas
    uri: str
    experiment: str
    resume: ResumePoint | None

    @property
    def is_chief(self) -> bool:
        return self.replicas.is_chief

    def run_dir(self, run) -> Path:
        """The run's local folder (its training state): the resumed run's own; a rank's
        private one off rank 0."""
        if run.run_id is None:
            return run.directory
        return self.resume.run_dir if self.resume else (RUNS_DIR / run.run_id).resolve()

    def check_data(self, digest: str) -> None:
        if self.resume and self.resume.data_hash not in (None, digest):
            raise KerazooError(f"--resume: the data differ from those run {self.resume.run_id} "
                               f"trained on (content hash {self.resume.data_hash} vs "
                               f"{digest}); resume with the same data")


def plan_run(recipe: Recipe, smoke: bool, tracking_uri: str | None,
             resume_run_id: str | None) -> RunPlan:
    """The store and the run to resume, checked first: they are cheap, and preparing can
    take a while (data, the LR range test)."""
    replicas = distributed.replicas_for(recipe.train.distribute)
    plan = RunPlan(replicas, tracking.tracking_uri(tracking_uri),
                   tracking.experiment_for(recipe.experiment, smoke), None)
    if resume_run_id and recipe.train.strategy == "hogwild":
        raise KerazooError("--resume: strategy hogwild keeps no training state to resume "
                           "from; start a new run")
    if not plan.is_chief:
        if resume_run_id:
            raise KerazooError("--resume continues single-process runs only; restart the "
                               "multi-process job without it")
        return plan
    tracking.prepare_store(plan.uri)
    if not resume_run_id:
        tracking.check_experiment(plan.experiment)
    plan.resume = resume_point(resume_run_id, recipe, smoke) if resume_run_id else None
    # The training state is kept there after each epoch: a read-only folder fails now, not
    # after the first epochs.
    check_writable(plan.resume.run_dir if plan.resume else RUNS_DIR, "the run folder")
    return plan


def open_run(plan: RunPlan, prepared: Prepared, smoke: bool, parent_run_id: str | None,
             tags: dict[str, str] | None):
    """The MLflow run on rank 0 (new, or the one resumed); elsewhere a stand-in that logs
    nothing."""
    if not plan.is_chief:
        return distributed.LocalRun(plan.replicas.process_id)
    return tracking.TrackedRun(
        plan.experiment, run_name=prepared.recipe.name, uri=plan.uri,
        resume_run_id=plan.resume.run_id if plan.resume else None,
        parent_run_id=parent_run_id,
        tags={**run_tags(prepared, smoke), **plan.replicas.tags(), **process_tags(),
              **(tags or {})})


def log_run_start(run: tracking.TrackedRun, prepared: Prepared, fingerprint: dict[str, Any],
                  inputs: dict[str, Any], run_dir: Path) -> None:
    """A new run's params, dataset inputs, recipe and LR range test."""
    recipe = prepared.recipe
    run.log_params(run_params(prepared, fingerprint), tags={"kerazoo.run_dir": str(run_dir)})
    if inputs:
        run.log_datasets(inputs)
    run.log_text(yaml.safe_dump(recipe.resolved(), sort_keys=False), "recipe.yaml")
    if recipe.source_path is not None:
        run.log_artifact(recipe.source_path, "recipe_file")
    if prepared.lr_finder is not None:
        log_lr_finder(run, prepared.lr_finder)


def train(prepared: Prepared, run: tracking.TrackedRun, plan: RunPlan, run_dir: Path,
          extra_callbacks: Sequence[keras.callbacks.Callback],
          verbose: int | str) -> tuple[dict[str, list[float]], TrainingStateBackup]:
    """Fit (or HOGWILD!) with the metrics callback and the training-state backup; returns
    every epoch's metrics, which are in the store when it returns, and the backup.

    Once training has ended, a signal is held (kerazoo.training.checkpoint) and honoured
    between the later steps (`interrupts.raise_if_pending`), never in the middle of one."""
    recipe, resume = prepared.recipe, plan.resume
    metrics_callback = run.callback(run.epoch_history() if resume else None,
                                    flush_at_train_end=False)
    backup = TrainingStateBackup(run_dir / "backup", every_epoch=plan.replicas.num_processes > 1,
                                 confirm_metrics=run.flush)
    # Metrics are queued before the state is kept, and the state waits for them to be in
    # the store; a non-finite loss stops training before its epoch's state is kept.
    safety = [*reports.epoch_callbacks(model_info(recipe.model.name).task),
              metrics_callback, FailOnNonFiniteLoss(), backup]
    try:
        if recipe.train.strategy == "hogwild":
            train_hogwild(prepared, run, metrics_callback, verbose)
        elif resume and resume.initial_epoch >= recipe.train.epochs:
            backup.restore(prepared.model, recipe.train.epochs)  # stopped after training
        else:
            fit(prepared, [*extra_callbacks, *safety], verbose=verbose,
                initial_epoch=resume.initial_epoch if resume else 0)
        if interrupts.active():
            interrupts.hold()  # hogwild, or a resumed run that trained nothing
        run.flush()  # every epoch's metrics in the store before anything else
        interrupts.raise_if_pending()
    except BaseException as error:
        backup.write_last_epoch()  # what `--resume` continues from
        interruption = interrupts.take_pending()
        if interruption is not None and not isinstance(error, KeyboardInterrupt):
            # Ctrl-C waited for an epoch's end, and the epoch ended in this error instead:
            # the user asked to stop, so the run stops (KILLED), not only fails.
            raise interruption from error
        raise
    return metrics_callback.history, backup


def evaluate_and_log(run: tracking.TrackedRun, prepared: Prepared, plan: RunPlan,
                     history: dict[str, list[float]], run_dir: Path, painter: Painter,
                     inputs: dict[str, Any]) -> tuple[dict[str, float], Any]:
    """Evaluate, write the reports, log the model and the test metrics, then the figures.

    A signal held since training ended is honoured between these steps: the run ends
    KILLED with every epoch's metrics and its final training state, which `--resume` takes
    straight to these steps again."""
    recipe = prepared.recipe
    # The figures are drawn (by the painter's helper process) while the model is logged,
    # then logged with the files the reports wrote: plots/ and reports/.
    with tempfile.TemporaryDirectory(prefix="kerazoo-figures-") as folder:
        figures = Path(folder)
        try:
            if plan.is_chief:
                painter.draw(figures / "plots" / "learning_curves.png",
                             plots.learning_curves, history)
            metrics = evaluate(prepared)
            interrupts.raise_if_pending()
            metrics.update(run_reports(run, prepared, metrics, figures / "reports",
                                       painter))
            interrupts.raise_if_pending()
            if recipe.outputs.model_file:
                path = run_dir / recipe.outputs.model_file
                path.parent.mkdir(parents=True, exist_ok=True)
                prepared.model.save(path)
            model_logged = run.log_keras_model(prepared.model,
                                               _examples(prepared.data.test.x),
                                               name=recipe.name,
                                               class_names=class_names(prepared))
            # The last moment a signal stops the run; past it, the run is as good as done.
            interrupts.raise_if_pending()
            # Logged after the model and tied to it, so its page shows them too, measured
            # on the logged test input; at the last epoch trained (early stopping may end
            # before train.epochs).
            trained = len(history.get("loss", ())) or recipe.train.epochs
            run.log_metrics(metrics, step=trained, flush=True,
                            model_id=getattr(model_logged, "model_id", None),
                            dataset=inputs.get("testing"))
            figure_errors = painter.wait()
        except BaseException:
            painter.abandon()  # nothing may still be drawing into the folder as it goes
            raise
        report_figure_errors(figure_errors)
        run.log_artifacts(figures)
    return metrics, model_logged


def forget_training_state(run_dir: Path) -> None:
    """The state was for resuming; once the run FINISHED nothing else needs it."""
    shutil.rmtree(run_dir / "backup", ignore_errors=True)
    with contextlib.suppress(OSError):  # a recipe's outputs may live there too
        run_dir.rmdir()


def class_names(prepared: Prepared) -> list[str] | None:
    """A classifier's class names, which its logged model answers with: its data's (digits,
    Fashion-MNIST, shapes), else the class indices; None for other tasks."""
    if model_info(prepared.recipe.model.name).task != "classification":
        return None
    names = prepared.data.extras.get("class_names")
    if names is None:
        names = range(prepared.model.output_shape[-1])
    return [str(name) for name in names]


def _examples(x, count: int = 5):
    return tuple(array[:count] for array in x) if isinstance(x, tuple) else x[:count]
