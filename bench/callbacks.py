"""What the scheduling callbacks cost, and what the 1cycle policy buys.

(b) Epochs to a target: `mlp_digits` (constant learning rate) trains its full length; its
    final validation accuracy is the target. `mlp_onecycle` (same data, model and seed,
    1cycle schedule) then trains, and we report the first epoch at which it reaches the
    target, and also the target less one validation image, since one image moves the
    validation accuracy by 1/270 and a single epoch can hit or miss by that much.
(a) Per-batch scheduling overhead: the `mlp_digits` model trained with
    `LRScheduler(per="batch")` (a 1cycle schedule, set before every batch) against the same
    `fit` without it, on the same `tf.data` pipeline. Each contender is warmed up once (the
    step is traced then), then timed fits alternate, order swapped every repeat; the ratio
    is the median of the per-repeat ratios (last line; target <= 1.03).

    .venv/bin/python bench/callbacks.py [--repeats 7] [--epochs 20]
    .venv/bin/python bench/callbacks.py --repeats 2 --epochs 2 --digits-epochs 5   # quick
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from kerazoo.callbacks import LRScheduler  # noqa: E402
from kerazoo.config.recipe import load_recipe  # noqa: E402
from kerazoo.data import pipeline  # noqa: E402
from kerazoo.training.runner import fit, prepare  # noqa: E402


def validation_accuracy(name: str, overrides: list[str]) -> np.ndarray:
    prepared = prepare(load_recipe(name, overrides))
    return np.asarray(fit(prepared, [], verbose=0).history["val_accuracy"])


def first_epoch_reaching(curve: np.ndarray, target: float) -> int | None:
    reached = np.nonzero(curve >= target - 1e-6)[0]
    return int(reached[0]) + 1 if len(reached) else None


def epochs_to_target(digits_epochs: int | None) -> None:
    overrides = [f"train.epochs={digits_epochs}"] if digits_epochs else []
    constant = validation_accuracy("mlp_digits", overrides)
    onecycle = validation_accuracy("mlp_onecycle", [])
    target = float(constant[-1])
    validation_size = len(prepare(load_recipe("mlp_digits", overrides)).data.validation)
    near = target - 1.0 / validation_size
    print(f"mlp_digits: {len(constant)} epochs at a constant rate, final val_accuracy "
          f"{target:.4f} (first reached at epoch {first_epoch_reaching(constant, target)}; "
          f"within one image of it at epoch {first_epoch_reaching(constant, near)})")
    print(f"mlp_onecycle: {len(onecycle)} epochs, final val_accuracy {onecycle[-1]:.4f}, "
          f"best {onecycle.max():.4f}; reaches {target:.4f} at epoch "
          f"{first_epoch_reaching(onecycle, target)}, within one image of it at epoch "
          f"{first_epoch_reaching(onecycle, near)}", flush=True)


def overhead(repeats: int, epochs: int) -> None:
    # One batch a compiled call for both: the scheduled one needs it (Keras calls batch hooks
    # once a call), and the plain one must match it to isolate the callback's cost.
    recipe = load_recipe("mlp_digits", ["train.steps_per_execution=1"])
    batch_size = recipe.train.batch_size

    def contender(scheduled: bool):
        prepared = prepare(recipe)
        steps = pipeline.steps_per_epoch(prepared.data.train, batch_size)
        schedule = {"name": "one_cycle", "max_lr": 0.01, "total_steps": steps * epochs}
        callbacks = [LRScheduler(schedule, per="batch")] if scheduled else []
        validation = pipeline.evaluation_dataset(prepared.data.validation, batch_size)

        def run(epoch_count: int) -> float:
            batches = pipeline.training_dataset(prepared.data.train, batch_size, recipe.seed,
                                                epoch_count)
            start = time.perf_counter()
            prepared.model.fit(batches, steps_per_epoch=steps, epochs=epoch_count,
                               validation_data=validation, callbacks=callbacks,
                               shuffle=False, verbose=0)
            return time.perf_counter() - start

        run(1)  # warm-up, not counted: traces the step
        return lambda: run(epochs)

    contenders = {"plain": contender(False), "scheduled": contender(True)}
    times: dict[str, list[float]] = {name: [] for name in contenders}
    names = list(contenders)
    for repeat in range(repeats):
        for name in names if repeat % 2 == 0 else names[::-1]:
            times[name].append(contenders[name]())
        print(f"repeat {repeat + 1}: " + ", ".join(
            f"{name} {times[name][-1]:.2f} s" for name in names), flush=True)
    ratio = statistics.median(s / p for s, p in zip(times["scheduled"], times["plain"],
                                                    strict=True))
    print("median seconds: " + ", ".join(
        f"{name} {statistics.median(times[name]):.2f}" for name in names))
    print(f"mlp_digits, {epochs} epochs per fit, backend {keras.backend.backend()}, {repeats} "
          f"repeats: median fit with LRScheduler(per='batch') / plain fit: {ratio:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--epochs", type=int, default=20, help="epochs per timed fit")
    parser.add_argument("--digits-epochs", type=int, default=None,
                        help="mlp_digits epochs for the target (default: the recipe's)")
    arguments = parser.parse_args()
    if arguments.digits_epochs != 0:
        epochs_to_target(arguments.digits_epochs)
    overhead(arguments.repeats, arguments.epochs)


if __name__ == "__main__":
    main()
