"""The one mechanism behind every scheduler callback: evaluate schedules at the current step,
hand each value to whatever it drives, and report the values in `logs`.

A subclass says what each schedule drives (`targets`); this class owns when (per batch or per
epoch), which step that is, filling `total_steps` from `fit`, and reporting. The per-batch
path is kept to a schedule call and a variable assignment per value: it runs before every
training step, and `on_train_batch_begin` (unlike `..._end`) does not stop Keras from
dispatching batch callbacks asynchronously.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras

from kerazoo import arguments, schedules
from kerazoo.callbacks import fit_state
from kerazoo.errors import KerazooError

PER = ("batch", "epoch")


class ScheduledValues(keras.callbacks.Callback):
    """Base class: `schedules` maps a log key (e.g. "learning_rate") to a schedule spec."""

    def __init__(self, schedules_by_key: dict[str, Any], per: str = "epoch"):
        super().__init__()
        self.per = arguments.one_of("per", per, PER)
        self.schedules = {key: spec for key, spec in schedules_by_key.items()
                          if spec is not None}
        for key, spec in self.schedules.items():
            schedules.check(spec, argument=key)
        self.values: dict[str, float] = {}
        self._scheduled: dict[str, float] = {}  # last value of each schedule, before targets
        self._plan: list[tuple[str, Callable[[float], float], Callable[[float], float]]] = []
        self._epoch = 0
        self._batches_seen = 0
        self._steps_per_epoch: int | None = None
        self._sync: Callable[[], None] = lambda: None

    # -- what subclasses provide ---------------------------------------------------------------

    def targets(self) -> dict[str, Callable[[float], float]]:
        """For each key, a function that applies a value and returns the value applied."""
        raise NotImplementedError

    def bind(self, key: str, spec: Any) -> Callable[[float], float]:
        """The schedule for `key` as a function of the step; `total_steps` comes from fit.

        A schedule that answers with tensors (a Keras `LearningRateSchedule`) is read into
        floats: `logs` and History hold numbers, and on JAX a tensor kept in `logs` may be
        an array the compiled step donates (deleted) afterwards."""
        schedule = schedules.resolve(spec, argument=key, total_steps=self.total_steps())
        if isinstance(schedule(0), int | float):
            return schedule
        return lambda step: float(keras.ops.convert_to_numpy(schedule(step)))

    def release(self) -> None:
        """Undo what `targets` set up: called at the end of training, and at the start of
        the next, before `targets`, for what a fit of this callback that raised left (Keras
        calls no hook then). Nothing to undo is no error."""

    @property
    def acts_every_batch(self) -> bool:
        """Per-batch schedules need one step per compiled call (the runner reads this)."""
        return self.per == "batch"

    # -- steps ---------------------------------------------------------------------------------

    def total_steps(self) -> int | None:
        """Steps in this fit, in the unit of `per`; None when fit cannot tell."""
        epochs = self.params.get("epochs")
        if self.per == "epoch":
            return epochs
        steps = self.params.get("steps")
        return epochs * steps if epochs and steps else None

    def require_total_steps(self, key: str) -> int:
        total = self.total_steps()
        if not total:
            raise KerazooError(f"{type(self).__name__}: cannot infer the number of steps for "
                               f"{key!r}: fit does not know how many batches an epoch has; "
                               "pass steps_per_epoch to fit or give total_steps")
        return total

    # -- Keras hooks ---------------------------------------------------------------------------

    def on_train_begin(self, logs=None):
        self._steps_per_epoch = self.params.get("steps")
        self._batches_seen = 0
        self.values, self._scheduled = {}, {}
        self._sync = fit_state.syncer(self.model)
        self.release()  # a fit that raised left it set up
        targets = self.targets()
        self._plan = [(key, self.bind(key, spec), targets[key])
                      for key, spec in self.schedules.items()]

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        if self.per == "epoch":
            self._sync()
            self.apply(epoch)

    def on_train_batch_begin(self, batch, logs=None):
        if self.per != "batch":
            return
        if self._steps_per_epoch:
            step = self._epoch * self._steps_per_epoch + batch
        else:
            step = self._batches_seen
        self._batches_seen += 1
        self._sync()
        self.apply(step)

    def apply(self, step: float) -> None:
        scheduled = self._scheduled
        for key, schedule, target in self._plan:
            value = schedule(step)
            if value != scheduled.get(key):  # flat stretches cost no assignment
                scheduled[key] = value
                self.values[key] = target(value)

    def reapply(self) -> None:
        """Make the next `apply` set every value, even those whose schedule did not move."""
        self._scheduled = {}

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs.update(self.values)

    def on_train_end(self, logs=None):
        self.release()
