"""`LRScheduler`: any schedule applied to the optimizer's learning rate (and momentum)."""

from __future__ import annotations

import math
import warnings
from typing import Any

import keras

from kerazoo.callbacks import fit_state
from kerazoo.callbacks.optimizer_hyperparameters import (
    HyperparameterSwap,
    innermost,
    momentum_attribute,
    take_back_learning_rate,
    wrapped,
)
from kerazoo.callbacks.scheduling import ScheduledValues
from kerazoo.errors import KerazooError


class LRScheduler(ScheduledValues):
    """Set the learning rate from `schedule` each batch or epoch, and the momentum (Adam's
    beta_1 for the Adam family) from `momentum` when given.

    Schedules are functions of the step (batch or epoch index from 0, counted over the whole
    fit), or specs such as `{"name": "cosine_restarts", "base_lr": 0.1, "T_0": 10}` from
    `kerazoo.schedules`; a spec without `total_steps` gets it from `fit` (epochs, or epochs x
    batches per epoch). The values set go into `logs` as `learning_rate` and `momentum`.

    Plateau reductions compose with the schedule: when something else changed the learning
    rate since this callback last set it (`ReduceLROnPlateau`, a user), the ratio is kept as
    a multiplier on the schedule from then on. The check runs at each epoch start, which is
    where Keras' plateau callback acts (at the end of the epoch before).

    On TensorFlow, a per-batch schedule is read inside the compiled step from a table of the
    epoch's values (`rate_table`; the momentum rides with the rate), so it allows
    `steps_per_execution` > 1 when fit knows the epoch's length. Elsewhere (JAX, loss
    scaling, several replicas, an epoch of unknown length) it is set before every compiled
    call, which must then be of one step (a warning says so).

        model.fit(x, y, epochs=30, callbacks=[
            LRScheduler({"name": "cosine_restarts", "base_lr": 0.01, "T_0": 10}),
            keras.callbacks.ReduceLROnPlateau(factor=0.5, patience=3)])
    """

    def __init__(self, schedule: Any, per: str = "epoch", momentum: Any = None):
        if schedule is None:
            raise KerazooError("`schedule` must be a function of the step or a schedule spec "
                               "like {name: cosine_restarts, base_lr: 0.1, T_0: 10}. "
                               "Received: schedule=None")
        super().__init__({"learning_rate": schedule, "momentum": momentum}, per)
        self.multiplier = 1.0
        self._last_learning_rate: float | None = None
        self._swap: HyperparameterSwap | None = None
        self._table = None  # a RateTable while the rate is read inside the step
        self._momentum = None  # the variable a momentum schedule drives, during a fit

    @property
    def in_step(self) -> bool:
        """Whether the per-batch values are read inside the compiled step (see
        `rate_table`): not under loss scaling (`mixed_float16`, or a `LossScaleOptimizer`
        given to compile), whose skipped steps the optimizer does not count. The runner asks
        before compiling, with the model set."""
        model = self.model
        loss_scaled = model is not None and (
            model.dtype_policy.name == "mixed_float16"
            or any(isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
                   for optimizer in wrapped(getattr(model, "optimizer", None))))
        return (self.per == "batch" and keras.backend.backend() == "tensorflow"
                and not loss_scaled)

    @property
    def acts_every_batch(self) -> bool:
        return super().acts_every_batch and not self.in_step

    def targets(self):
        optimizer = self.model.optimizer
        take_back_learning_rate(innermost(optimizer))  # a table left, or another scheduler's
        learning_rate = optimizer.learning_rate
        if not isinstance(learning_rate, keras.Variable):
            raise KerazooError(
                f"{type(self).__name__} sets the learning rate, but this "
                f"{type(optimizer).__name__} computes it itself (it was created with a "
                "LearningRateSchedule or a callable); create it with a number, e.g. "
                f"{type(optimizer).__name__}(learning_rate=1e-3), and give the schedule to "
                "the callback")
        self._learning_rate = learning_rate
        self._assign_learning_rate = fit_state.scalar_assigner(learning_rate)
        self.multiplier = 1.0
        self._last_learning_rate = None
        targets = {"learning_rate": self._set_learning_rate}
        self._swap = HyperparameterSwap(self.model, self.params)
        if "momentum" in self.schedules:
            self._momentum = self._swap.variable(momentum_attribute(optimizer))
            assign_momentum = fit_state.scalar_assigner(self._momentum)

            def set_momentum(value: float) -> float:
                assign_momentum(value)
                return value

            targets["momentum"] = set_momentum
        return targets

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self._table = None
        if (self.in_step and self._steps_per_epoch
                and self.model.distribute_strategy.num_replicas_in_sync == 1):
            riders = [] if self._momentum is None else [self._momentum]
            self._table = self._swap.rate_table(riders)
        elif self.per == "batch" and self.model.steps_per_execution > 1:
            warnings.warn(
                f"{type(self).__name__} sets its values before each compiled call of "
                f"{self.model.steps_per_execution} steps here (on JAX, under loss scaling, "
                "with several replicas, or when fit does not know the epoch's length), so "
                "they change once a call; compile with steps_per_execution=1 for a value "
                "every step", stacklevel=2)

    def _set_learning_rate(self, value: float) -> float:
        value *= self.multiplier
        self._assign_learning_rate(value)
        self._last_learning_rate = value
        return value

    def on_epoch_begin(self, epoch, logs=None):
        last = self._last_learning_rate
        if last:  # neither unset nor zero (a ratio to zero says nothing)
            current = float(keras.ops.convert_to_numpy(self._learning_rate))
            # the variable holds float32: a mismatch smaller than its rounding is no change
            if not math.isclose(current, last, rel_tol=1e-5):
                self.multiplier *= current / last
                self.reapply()
        super().on_epoch_begin(epoch, logs)
        if self._table is not None:
            self._load_epoch(epoch)

    def _load_epoch(self, epoch: int) -> None:
        """The epoch's values into the table. The rate's variable takes the last, as it would
        have by the epoch's end, for whatever reads it in Python (plateau callbacks, the
        check above); the momentum's is written by each step, so it holds the last step's."""
        steps = range(epoch * self._steps_per_epoch, (epoch + 1) * self._steps_per_epoch)
        scheduled = {key: [schedule(step) for step in steps]
                     for key, schedule, _ in self._plan}
        rates = scheduled.pop("learning_rate")
        self._table.load([value * self.multiplier for value in rates], list(scheduled.values()))
        self.values["learning_rate"] = self._set_learning_rate(rates[-1])
        self.values.update({key: values[-1] for key, values in scheduled.items()})

    def on_train_batch_begin(self, batch, logs=None):
        if self._table is None:
            super().on_train_batch_begin(batch, logs)

    def release(self):
        self._table, self._momentum = None, None
        if self._swap is not None:
            self._swap.restore()
            self._swap = None
