"""`WeightDecayScheduler`: the optimizer's decoupled weight decay from a schedule."""

from __future__ import annotations

from typing import Any

from kerazoo.callbacks import fit_state
from kerazoo.callbacks.optimizer_hyperparameters import HyperparameterSwap
from kerazoo.callbacks.scheduling import ScheduledValues
from kerazoo.errors import KerazooError


class WeightDecayScheduler(ScheduledValues):
    """Set the optimizer's decoupled weight decay (`weight_decay` of AdamW, SGD, ...) from
    `schedule`, and report it in `logs` as `weight_decay`.

    Decoupled decay (Loshchilov & Hutter 2019) shrinks weights directly, `w -= lr * wd * w`,
    apart from the gradient, unlike an L2 penalty in the loss. Keras applies it to every
    trainable variable not excluded with `optimizer.exclude_from_weight_decay`. An optimizer
    created without weight decay gets it for this fit, starting from the schedule's first
    value, and keeps the last value afterwards.
    """

    def __init__(self, schedule: Any, per: str = "epoch"):
        super().__init__({"weight_decay": schedule}, per)
        self._swap: HyperparameterSwap | None = None

    def targets(self):
        self._swap = HyperparameterSwap(self.model, self.params)
        first = float(self.bind("weight_decay", self.schedules["weight_decay"])(0))
        assign = fit_state.scalar_assigner(self._swap.variable("weight_decay", initial=first))

        def set_weight_decay(value: float) -> float:
            if value < 0:
                raise KerazooError(f"the weight decay schedule must give a non-negative "
                                   f"value. Received: weight_decay={value!r}")
            assign(value)
            return value

        return {"weight_decay": set_weight_decay}

    def release(self):
        if self._swap is not None:
            self._swap.restore()
            self._swap = None
