"""Training speed: kerazoo's runner against the fastest plain-Keras configuration and the same
network in PyTorch, each recipe's model at full size, and every figure against this machine's
matmul peak.

For each recipe (`--recipes`; default every `fit` recipe, hogwild's are another kind of
training), the contenders train the same model on the same data at the same batch size, for
E epochs with a validation pass after each, E the fewest whole epochs covering `--steps` steps:
- `kerazoo`: the runner's `fit` (kerazoo/runner.py) on its tf.data pipeline, with every
  callback a run adds in place: the recipe's own, the task's epoch figures, MLflow metric
  logging into a real SQLite store, the non-finite-loss guard and the training-state backup;
  compiled as the recipe says (`train.jit_compile`, `train.steps_per_execution`,
  `train.precision`). What a run does once (loading data, logging the model, reports) is
  left out: it does not scale with training, and bench/overhead.py measures it.
- `keras graph|xla [spe N]`: what a user would write: `model.fit(x, y, batch_size, epochs,
  validation_data, shuffle=True)` on NumPy arrays, the same builder, optimizer, loss and
  precision, compiled as a `tf.function` graph or with XLA (`jit_compile=True`), one batch
  or N (`--spe`) per compiled call. The best of them is "best keras".
- `pytorch`: bench/torch_models.py's layer-by-layer translation, a plain training loop
  (shuffle, forward, loss, backward, step; `no_grad` validation), autocast to bfloat16 or
  float16 when the recipe's precision is mixed. Skipped with a note when torch is absent
  (`pip install -e '.[bench]'`).

Each recipe is measured in a fresh process of its own: TensorFlow takes the recipe's
`train.intra_op_threads` only before it starts, and every contender of the recipe, the plain
Keras ones included, then runs under it (a plain-Keras user can set it as well). Each
contender is warmed up first (tracing, XLA compilation, one-off allocations are not
counted), then `--rounds` rounds each time every contender once, in rotated order, so load
on a shared machine falls on all alike; the figures are medians over rounds, and a ratio is
the median of the per-round ratios.

FLOPs per example and step are the dense, convolutional and recurrent matmuls of the Keras
model, ×3 for forward and backward (torch_models.training_flops); the validation pass is in
the time but not in the FLOPs, so the "% peak" column slightly understates. The peak is
the best of a few float32 (and bfloat16) 2048² matmuls in TensorFlow, measured in every
round. Determinism: `prepare` enables TensorFlow's deterministic ops for the whole process
(recipes default to `train.deterministic: true`), so the plain-Keras contenders run under it
too.

    .venv/bin/python bench/throughput.py [--recipes a,b] [--steps 300] [--rounds 3]
        [--spe 16] [--keras graph,graph-spe,xla,xla-spe] [--variant KEY=VALUE[,KEY=VALUE]]
        [--quick]

The last line: `throughput: kerazoo/best-keras min X.XX, kerazoo/pytorch min Y.YY`, the
lowest per-recipe ratio of examples per second (n/a without torch).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import gc
import math
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))  # torch_models beside this file

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from flops import training_flops  # noqa: E402

from kerazoo import reports  # noqa: E402
from kerazoo.config.recipe import RECIPES_DIR, load_recipe  # noqa: E402
from kerazoo.data import load_data, pipeline  # noqa: E402
from kerazoo.errors import KerazooError  # noqa: E402
from kerazoo.registry import model_info  # noqa: E402
from kerazoo.tracking import runs as tracking  # noqa: E402
from kerazoo.training.checkpoint import TrainingStateBackup  # noqa: E402
from kerazoo.training.guards import FailOnNonFiniteLoss  # noqa: E402
from kerazoo.training.precision import dtype_policy  # noqa: E402
from kerazoo.training.runner import (  # noqa: E402
    SMOKE_SIZES,
    build_model,
    compiled_metric_names,
    fit,
    make_optimizer,
    prepare,
)

try:
    import torch
    import torch_models
except ImportError:  # the [bench] extra is not installed
    torch = None

KERAS_CONFIGS = ("graph", "graph-spe", "xla", "xla-spe")
QUICK = {"recipes": "mlp_digits", "steps": 8, "rounds": 2, "spe": 4, "keras": "graph,graph-spe",
         "peak_size": 256}


@dataclass
class Contender:
    name: str
    run: object  # () -> None: one timed training
    flops_per_example: int
    examples: int  # training examples one run processes
    seconds: list[float] = field(default_factory=list)

    def rates(self) -> list[float]:
        return [self.examples / seconds for seconds in self.seconds]


def matmul_peak(dtype: tf.DType, size: int, repeats: int = 5) -> float:
    """GFLOP/s of the fastest of `repeats` timed size² matmuls (10 per timing)."""
    a = tf.random.normal((size, size), dtype=tf.float32)
    a = tf.cast(a, dtype)

    @tf.function
    def ten(x):
        for _ in range(10):
            x = tf.matmul(x, a) * tf.constant(0.5, dtype)
        return x

    ten(a).numpy()
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        ten(a).numpy()
        best = min(best, time.perf_counter() - start)
    return 10 * 2 * size**3 / best / 1e9


def sequence_steps(data) -> int | None:
    """The data's sequence length, for a one-input model that takes any length."""
    x = data.train.x
    return None if isinstance(x, tuple) or x.ndim < 2 else int(x.shape[1])


def epochs_for(steps: int, steps_per_epoch: int) -> int:
    return max(1, math.ceil(steps / steps_per_epoch))


def as_list(x):
    return list(x) if isinstance(x, tuple) else x


def warm_up_subset(split, batch_size: int, steps: int):
    """A few batches ending on a batch as short as the real epoch's last: the shapes a timed
    run meets are all traced (and XLA-compiled) before timing."""
    count = min(len(split), steps * batch_size + len(split) % batch_size)
    return split.head(count)


def kerazoo_contender(name, recipe_name, overrides, epochs, run, scratch,
                      smoke) -> Contender:
    recipe = load_recipe(recipe_name, [*overrides, f"train.epochs={epochs}"], smoke=smoke)
    prepared = prepare(recipe, smoke=smoke)
    model, data, train = prepared.model, prepared.data, recipe.train
    spe = model.steps_per_execution  # the count in force ("epoch" resolved)
    # Warm-up: traces the train and test functions the timed fits reuse, with the recipe's
    # callbacks (a momentum schedule keeps the step it traces for the next fit).
    head = warm_up_subset(data.train, train.batch_size, 2 * spe)
    model.fit(pipeline.training_dataset(head, train.batch_size, recipe.seed, 1),
              steps_per_epoch=pipeline.steps_per_epoch(head, train.batch_size),
              validation_data=pipeline.evaluation_dataset(data.validation, train.batch_size),
              callbacks=prepared.callbacks, verbose=0)
    task = model_info(recipe.model.name).task

    def train_once():
        # A fresh folder each time: a backup left behind would be restored from.
        folder = Path(tempfile.mkdtemp(prefix="backup-", dir=scratch))
        safety = [*reports.epoch_callbacks(task), run.callback(flush_at_train_end=False),
                  FailOnNonFiniteLoss(), TrainingStateBackup(folder)]
        fit(prepared, safety, verbose=0)

    return Contender(name, train_once, training_flops(model, sequence_steps(data)),
                     epochs * len(data.train))


def keras_contender(config, recipe, data, epochs, spe) -> Contender:
    train = recipe.train
    with dtype_policy(train.precision):
        model = build_model(recipe.model, data.model_hints)
    loss = train.loss or model_info(recipe.model.name).loss
    steps = spe if config.endswith("-spe") else 1
    model.compile(optimizer=make_optimizer(train, float(train.learning_rate)), loss=loss,
                  metrics=compiled_metric_names(recipe), jit_compile=config.startswith("xla"),
                  steps_per_execution=steps)
    validation = (as_list(data.validation.x), data.validation.y)
    head = warm_up_subset(data.train, train.batch_size, 2 * steps)
    model.fit(as_list(head.x), head.y, batch_size=train.batch_size, epochs=1,
              validation_data=validation, verbose=0)

    def train_once():
        model.fit(as_list(data.train.x), data.train.y, batch_size=train.batch_size,
                  epochs=epochs, validation_data=validation, shuffle=True, verbose=0)

    name = f"keras {config.replace('-spe', f' spe {steps}')}"
    return Contender(name, train_once, training_flops(model, sequence_steps(data)),
                     epochs * len(data.train))


def torch_contender(recipe, data, epochs) -> Contender:
    train = recipe.train
    keras_model = build_model(recipe.model, data.model_hints)
    model = torch_models.translate(keras_model)
    loss_fn = torch_models.loss_function(train.loss or model_info(recipe.model.name).loss,
                                         keras_model)
    optimizer = torch_models.optimizer(train.optimizer, model.parameters(),
                                       float(train.learning_rate), train.optimizer_kwargs)
    integer = np.issubdtype(data.train.x.dtype, np.integer)
    tensors = {name: (torch.as_tensor(split.x, dtype=torch.long if integer else torch.float32),
                      torch.as_tensor(split.y, dtype=torch.long
                                      if np.issubdtype(split.y.dtype, np.integer)
                                      else torch.float32))
               for name, split in (("train", data.train), ("validation", data.validation))}
    mixed = {"mixed_bfloat16": torch.bfloat16, "mixed_float16": torch.float16}
    autocast_dtype = mixed.get(train.precision)
    scaler = torch.amp.GradScaler("cpu", enabled=autocast_dtype == torch.float16)
    batch_size = train.batch_size

    def autocast():
        return torch.autocast("cpu", dtype=autocast_dtype or torch.bfloat16,
                              enabled=autocast_dtype is not None)

    def one_epoch(limit=None):
        x, y = tensors["train"]
        model.train()
        order = torch.randperm(len(x))
        for step, start in enumerate(range(0, len(x), batch_size)):
            if limit is not None and step >= limit:
                break
            index = order[start:start + batch_size]
            optimizer.zero_grad(set_to_none=True)
            with autocast():
                loss = loss_fn(model(x[index]), y[index])
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        model.eval()
        x, y = tensors["validation"]
        with torch.no_grad(), autocast():
            for start in range(0, len(x), batch_size):
                loss_fn(model(x[start:start + batch_size]), y[start:start + batch_size])

    one_epoch(limit=2)  # warm-up

    def train_once():
        for _ in range(epochs):
            one_epoch()

    return Contender("pytorch", train_once, training_flops(keras_model, sequence_steps(data)),
                     epochs * len(data.train))


def fit_recipes() -> list[str]:
    names = []
    for path in sorted(RECIPES_DIR.glob("*.yaml")):
        if load_recipe(path.stem).train.strategy == "fit":
            names.append(path.stem)
    return names


def measure_in_own_process(name, arguments, scratch):
    """measure_recipe in a fresh (spawned) process: TensorFlow takes a recipe's
    `train.intra_op_threads` only before it starts, so each recipe gets its own TensorFlow,
    and every contender of the recipe runs under the same thread count."""
    context = multiprocessing.get_context("spawn")  # TensorFlow hangs in forked children
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool:
        timed, peaks, notes = pool.submit(measure_recipe, name, arguments, scratch).result()
    return [Contender(*fields) for fields in timed], peaks, notes


def measure_recipe(name, arguments, scratch):
    """Every contender for one recipe, timed over interleaved rounds; returns them (without
    their training closures), the matmul peaks measured between rounds, and notes."""
    peaks: dict[str, list[float]] = {"float32": [], "bfloat16": []}
    # Smoke sizes under --quick (the data's head, the smoke overrides): --steps sets epochs.
    recipe = load_recipe(name, smoke=arguments.quick)
    try:
        data = load_data(recipe.data.name, seed=recipe.seed, **recipe.data.kwargs)
    except KerazooError as error:  # a classic dataset this machine does not have
        return [], peaks, [f"{name}: skipped: {error}"]
    if arguments.quick:
        data = data.head(**SMOKE_SIZES)
    steps_per_epoch = pipeline.steps_per_epoch(data.train, recipe.train.batch_size)
    epochs = epochs_for(arguments.steps, steps_per_epoch)
    notes = []
    # One MLflow run (MLflow has one active run a thread) takes every kerazoo contender's
    # per-epoch metrics.
    experiment = tracking.experiment_for(recipe.experiment, arguments.quick)
    with tracking.TrackedRun(experiment, run_name=f"bench-{name}") as run:
        contenders = [kerazoo_contender("kerazoo", name, [], epochs, run, scratch,
                                        arguments.quick)]
        for variant in arguments.variant:
            contenders.append(kerazoo_contender(f"kerazoo {variant}", name,
                                                variant.split(","), epochs, run, scratch,
                                                arguments.quick))
        for config in arguments.keras.split(","):
            contenders.append(keras_contender(config, recipe, data, epochs, arguments.spe))
        if torch is None:
            notes.append(f"{name}: pytorch skipped: torch is not installed (pip install -e "
                         "'.[bench]')")
        else:
            try:
                contenders.append(torch_contender(recipe, data, epochs))
            except torch_models.Untranslatable as error:
                notes.append(f"{name}: pytorch skipped: no translation for {error}")
        for round_index in range(arguments.rounds):
            peaks["float32"].append(matmul_peak(tf.float32, arguments.peak_size))
            peaks["bfloat16"].append(matmul_peak(tf.bfloat16, arguments.peak_size))
            shift = round_index % len(contenders)
            for contender in contenders[shift:] + contenders[:shift]:
                gc.collect()
                start = time.perf_counter()
                contender.run()
                contender.seconds.append(time.perf_counter() - start)
            print(f"{name} round {round_index + 1}: " + ", ".join(
                f"{contender.name} {contender.rates()[-1]:.0f}/s" for contender in contenders),
                flush=True)
    # Plain values cross back to the parent; the training closures do not.
    timed = [(c.name, None, c.flops_per_example, c.examples, c.seconds) for c in contenders]
    return timed, peaks, notes


def ratio(kerazoo: Contender, other: Contender) -> float:
    """The median over rounds of kerazoo's examples/s over the other's, same round."""
    return statistics.median(a / b for a, b in zip(kerazoo.rates(), other.rates(), strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", default=None, help="comma-separated; default: every "
                                                        "fit recipe")
    parser.add_argument("--steps", type=int, default=300,
                        help="training steps per timed run, rounded up to whole epochs")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--spe", type=int, default=16,
                        help="steps_per_execution of the keras '-spe' configurations")
    parser.add_argument("--keras", default=",".join(KERAS_CONFIGS),
                        help=f"plain-Keras configurations, from {', '.join(KERAS_CONFIGS)}")
    parser.add_argument("--variant", action="append", default=[],
                        help="also time kerazoo with these recipe overrides, e.g. "
                             "train.precision=mixed_bfloat16 (repeatable)")
    parser.add_argument("--peak-size", type=int, default=2048)
    parser.add_argument("--quick", action="store_true",
                        help="a smoke test: mlp_digits at smoke size, a few steps")
    arguments = parser.parse_args()
    if arguments.quick:
        for key, value in QUICK.items():
            if parser.get_default(key) == getattr(arguments, key):
                setattr(arguments, key, value)
    unknown = set(arguments.keras.split(",")) - set(KERAS_CONFIGS)
    if unknown or arguments.steps < 1 or arguments.rounds < 1 or arguments.spe < 1:
        parser.error(f"--keras takes {', '.join(KERAS_CONFIGS)}; --steps, --rounds and "
                     f"--spe at least 1. Received: --keras={arguments.keras} "
                     f"--steps={arguments.steps} --rounds={arguments.rounds} "
                     f"--spe={arguments.spe}")
    names = arguments.recipes.split(",") if arguments.recipes else fit_recipes()
    peaks: dict[str, list[float]] = {"float32": [], "bfloat16": []}
    results, notes = {}, []
    with tempfile.TemporaryDirectory(prefix="kerazoo-throughput-") as folder:
        scratch = Path(folder)
        os.chdir(scratch)  # MLflow's artifacts and the backups land in the scratch folder
        uri = f"sqlite:///{scratch / 'mlflow.db'}"
        os.environ["MLFLOW_TRACKING_URI"] = uri
        tracking.prepare_store(uri)
        for name in names:
            contenders, recipe_peaks, recipe_notes = measure_in_own_process(
                name, arguments, scratch)
            if contenders:
                results[name] = contenders
            for kind in peaks:
                peaks[kind] += recipe_peaks[kind]
            notes += recipe_notes
    print_table(results, peaks, notes)


def print_table(results, peaks, notes) -> None:
    peak = statistics.median(peaks["float32"])
    print(f"\nmatmul peak (median of rounds): float32 {peak:.0f} GFLOP/s, bfloat16 "
          f"{statistics.median(peaks['bfloat16']):.0f} GFLOP/s; backend "
          f"{keras.backend.backend()}, {os.cpu_count()} CPUs")
    header = (f"{'recipe':<18} {'contender':<40} {'examples/s':>11} {'kerazoo/this':>12} "
              f"{'GFLOP/s':>8} {'% fp32 peak':>11}")
    print(header)
    print("-" * len(header))
    versus_keras, versus_torch = [], []
    for name, contenders in results.items():
        kerazoo = contenders[0]
        for contender in contenders:
            rate = statistics.median(contender.rates())
            if contender.flops_per_example is None:  # a sequence length only the data knows
                gflops_text, peak_text = "n/a", "n/a"
            else:
                gflops = rate * contender.flops_per_example / 1e9
                gflops_text, peak_text = f"{gflops:.1f}", f"{100 * gflops / peak:.1f}"
            print(f"{name:<18} {contender.name:<40} {rate:>11.0f} "
                  f"{ratio(kerazoo, contender):>12.2f} {gflops_text:>8} {peak_text:>11}")
        keras_runs = [c for c in contenders if c.name.startswith("keras")]
        if keras_runs:
            best = max(keras_runs, key=lambda c: statistics.median(c.rates()))
            versus_keras.append(ratio(kerazoo, best))
        versus_torch += [ratio(kerazoo, c) for c in contenders if c.name == "pytorch"]
    for note in notes:
        print(note)
    keras_text = f"{min(versus_keras):.2f}" if versus_keras else "n/a"
    torch_text = f"{min(versus_torch):.2f}" if versus_torch else "n/a"
    print(f"throughput: kerazoo/best-keras min {keras_text}, kerazoo/pytorch min {torch_text}")


if __name__ == "__main__":
    main()
