"""`RegularizationScheduler`: the strengths of `ScheduledL1L2` penalties from schedules."""

from __future__ import annotations

from typing import Any

import keras

from kerazoo.callbacks import fit_state
from kerazoo.callbacks.model_parts import regularizers_of_type
from kerazoo.callbacks.scheduling import ScheduledValues
from kerazoo.errors import KerazooError
from kerazoo.regularizers import ScheduledL1L2


class RegularizationScheduler(ScheduledValues):
    """Set `l1` and/or `l2` of every `ScheduledL1L2` in the model from schedules (a strength
    without a schedule is left as it is), and report them in `logs` as `l1` and `l2`.

    On JAX, the strengths join the model's state for the duration of `fit` (JAX's compiled
    step reads nothing else) and leave it at the end, so saved models are unaffected.

        RegularizationScheduler(l2={"name": "warmup", "base_lr": 1e-3, "total_iters": 10,
                                    "start_factor": 0.0})
    """

    def __init__(self, l1: Any = None, l2: Any = None, per: str = "epoch"):
        if l1 is None and l2 is None:
            raise KerazooError("RegularizationScheduler needs a schedule for `l1` or `l2`. "
                               "Received: l1=None, l2=None")
        super().__init__({"l1": l1, "l2": l2}, per)
        self._joined: list = []

    @staticmethod
    def scheduled_regularizers(model: keras.Model) -> list[ScheduledL1L2]:
        found = regularizers_of_type(model, ScheduledL1L2)
        if not found:
            raise KerazooError(
                f"RegularizationScheduler found no ScheduledL1L2 regularizer in model "
                f"{model.name!r}; give layers kerazoo.regularizers.ScheduledL1L2, e.g. "
                "mlp(schedulable=True) (a keras.regularizers.L1L2's strengths are fixed once "
                "fit has traced the step)")
        return found

    def check_model(self, model: keras.Model) -> None:
        """The recipe runner asks before the run exists, so the mistake leaves no run."""
        self.scheduled_regularizers(model)

    def targets(self):
        found = self.scheduled_regularizers(self.model)
        self._joined = fit_state.join_state(
            self.model, [variable for regularizer in found for variable in regularizer.variables])
        return {key: self._setter(key, [getattr(regularizer, key) for regularizer in found])
                for key in self.schedules}

    @staticmethod
    def _setter(key, variables):
        assigners = [fit_state.scalar_assigner(variable) for variable in variables]

        def set_strength(value: float) -> float:
            if value < 0:
                raise KerazooError(f"the {key} schedule must give a non-negative strength. "
                                   f"Received: {key}={value!r}")
            for assign in assigners:
                assign(value)
            return value

        return set_strength

    def release(self):
        fit_state.leave_state(self.model, self._joined)
        self._joined = []
