"""The learning-rate range test (Smith 2017): train briefly while the learning rate grows
exponentially, watch the loss, and read a good learning rate off the curve."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np

from kerazoo import arguments
from kerazoo.callbacks import fit_state
from kerazoo.errors import KerazooError


@dataclass
class LRFinderResult:
    """The sweep and what to read off it.

    `steepest`: where the smoothed loss falls fastest (per decade of learning rate), before
    its minimum: the largest rate at which training still clearly improves. `minimum_over_10`:
    a tenth of the rate at the smoothed loss's minimum (the minimum is already too high:
    the loss is about to climb). `suggestion` is `steepest`, or `minimum_over_10` when the
    curve has no descent to measure.
    """

    learning_rates: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    smoothed_losses: list[float] = field(default_factory=list)
    diverged: bool = False

    @property
    def minimum_over_10(self) -> float:
        return self.learning_rates[int(np.argmin(self.smoothed_losses))] / 10

    @property
    def steepest(self) -> float | None:
        lowest = int(np.argmin(self.smoothed_losses))
        # The first steps are dominated by the smoothing's warm-up, not by the rate.
        first = max(1, len(self.smoothed_losses) // 10)
        if lowest - first < 2:
            return None
        slopes = np.gradient(np.asarray(self.smoothed_losses[first:lowest + 1]),
                             np.log10(self.learning_rates[first:lowest + 1]))
        return float(self.learning_rates[first + int(np.argmin(slopes))])

    @property
    def suggestion(self) -> float:
        steepest = self.steepest
        return steepest if steepest is not None else self.minimum_over_10


class LRFinder(keras.callbacks.Callback):
    """Run inside `fit` for at most `num_steps` batches: the learning rate goes from `min_lr`
    to `max_lr` exponentially, the loss is smoothed (exponential moving average with bias
    correction), and training stops early once the smoothed loss exceeds `divergence` times
    its best. Afterwards weights and optimizer state (step count, moments, learning rate) are
    as they were before: the test changes nothing. Read `result` (an `LRFinderResult`);
    with `plot_path`, the curve is also saved there as a PNG.

    Give `fit` enough epochs to cover `num_steps` batches (`find_learning_rate` does).
    The loss of each batch is recovered from Keras' running mean over the epoch, which
    assumes equal-sized batches (an epoch's smaller last batch is off by a little).
    """

    def __init__(self, min_lr: float = 1e-7, max_lr: float = 10.0, num_steps: int = 100,
                 smoothing: float = 0.9, divergence: float = 4.0,
                 plot_path: str | Path | None = None):
        super().__init__()
        if not (isinstance(min_lr, int | float) and min_lr > 0):
            raise arguments.fail("min_lr", "a positive number", min_lr)
        if not (isinstance(max_lr, int | float) and max_lr > min_lr):
            raise arguments.fail("max_lr", "a number greater than min_lr", max_lr)
        self.num_steps = arguments.positive_int("num_steps", num_steps)
        if self.num_steps < 2:
            raise arguments.fail("num_steps", "at least 2", num_steps)
        self.smoothing = arguments.fraction("smoothing", smoothing)
        if not (isinstance(divergence, int | float) and divergence > 1):
            raise arguments.fail("divergence", "a number greater than 1", divergence)
        self.min_lr, self.max_lr, self.divergence = float(min_lr), float(max_lr), divergence
        self.plot_path = plot_path
        self.result = LRFinderResult()

    def learning_rate_at(self, step: int) -> float:
        return self.min_lr * (self.max_lr / self.min_lr) ** (step / (self.num_steps - 1))

    def on_train_begin(self, logs=None):
        learning_rate = self.model.optimizer.learning_rate
        if not isinstance(learning_rate, keras.Variable):
            raise KerazooError("LRFinder sets the learning rate, but this optimizer computes it "
                               "itself (it was created with a LearningRateSchedule); create "
                               "it with a number, e.g. Adam(learning_rate=1e-3)")
        self._learning_rate = learning_rate
        self._assign_learning_rate = fit_state.scalar_assigner(learning_rate)
        optimizer = self.model.optimizer
        if not optimizer.built:  # build now so the snapshot holds every slot the run creates
            optimizer.build(self.model.trainable_variables)
        # NumPy copies: JAX's step donates (frees) the buffers the variables hold now.
        self._saved_model = [keras.ops.convert_to_numpy(v) for v in self.model.variables]
        self._saved_optimizer = [keras.ops.convert_to_numpy(v)
                                 for v in self.model.optimizer.variables]
        self.result = LRFinderResult()
        self._step = 0
        self._average = 0.0
        self._best = math.inf
        self._previous_mean = 0.0

    def on_train_batch_begin(self, batch, logs=None):
        fit_state.sync(self.model)
        self._assign_learning_rate(self.learning_rate_at(self._step))

    def on_train_batch_end(self, batch, logs=None):
        mean = float((logs or {}).get("loss", math.nan))
        # Keras reports the epoch's running mean; undo the averaging to get this batch's loss.
        loss = (batch + 1) * mean - batch * self._previous_mean if batch else mean
        self._previous_mean = mean
        result = self.result
        result.learning_rates.append(self.learning_rate_at(self._step))
        result.losses.append(loss)
        self._step += 1
        if not math.isfinite(loss):
            result.diverged = True
            self.model.stop_training = True
            return
        self._average = self.smoothing * self._average + (1 - self.smoothing) * loss
        smoothed = self._average / (1 - self.smoothing**self._step)
        result.smoothed_losses.append(smoothed)
        self._best = min(self._best, smoothed)
        if smoothed > self.divergence * self._best:
            result.diverged = True
            self.model.stop_training = True
        elif self._step >= self.num_steps:
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        for variable, value in zip(self.model.variables, self._saved_model, strict=True):
            variable.assign(value)
        for variable, value in zip(self.model.optimizer.variables, self._saved_optimizer,
                                   strict=True):
            variable.assign(value)
        # The curve keeps only finite points (a diverged last loss is not plotted).
        kept = len(self.result.smoothed_losses)
        self.result.learning_rates = self.result.learning_rates[:kept]
        self.result.losses = self.result.losses[:kept]
        if kept < 3:
            raise KerazooError(f"LRFinder: the loss diverged after {kept} step(s), before a "
                               f"curve could be drawn; lower min_lr. Received: "
                               f"min_lr={self.min_lr!r}")
        if self.plot_path is not None:
            from kerazoo.callbacks import lr_finder_plot

            lr_finder_plot.save(self.result, self.plot_path)


def find_learning_rate(model: keras.Model, x: Any, y: Any = None, *, batch_size: int = 32,
                       steps_per_epoch: int | None = None, min_lr: float = 1e-7,
                       max_lr: float = 10.0, num_steps: int = 100, smoothing: float = 0.9,
                       plot_path: str | Path | None = None, **fit_kwargs) -> LRFinderResult:
    """Run the range test on a compiled model with `model.fit` and return the result; the
    model's weights and optimizer state are unchanged afterwards.

    `x`, `y` are what `fit` takes: arrays, or a dataset of batches (then pass
    `steps_per_epoch`, unless the dataset knows its length and is long enough).
    """
    if steps_per_epoch is None:
        if isinstance(x, np.ndarray):
            steps_per_epoch = math.ceil(len(x) / batch_size)
        elif hasattr(x, "__len__"):
            steps_per_epoch = len(x)
        else:
            raise KerazooError("find_learning_rate cannot tell how many batches an epoch of "
                               "this data has; pass steps_per_epoch")
    finder = LRFinder(min_lr=min_lr, max_lr=max_lr, num_steps=num_steps, smoothing=smoothing,
                      plot_path=plot_path)
    if isinstance(x, np.ndarray):
        fit_kwargs["batch_size"] = batch_size
    else:
        fit_kwargs["steps_per_epoch"] = steps_per_epoch
        fit_kwargs.setdefault("shuffle", False)  # a dataset brings its own order
    model.fit(x, y, epochs=math.ceil(num_steps / steps_per_epoch), callbacks=[finder],
              verbose=0, **fit_kwargs)
    return finder.result
