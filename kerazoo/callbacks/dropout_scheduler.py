"""`DropoutScheduler`: the rate of `ScheduledDropout` layers from a schedule."""

from __future__ import annotations

from typing import Any

import keras

from kerazoo.callbacks import fit_state
from kerazoo.callbacks.model_parts import layers_of_type
from kerazoo.callbacks.scheduling import ScheduledValues
from kerazoo.errors import KerazooError
from kerazoo.layers import ScheduledDropout


class DropoutScheduler(ScheduledValues):
    """Set the rate of every `ScheduledDropout` layer (or of those named in `layers`) from
    `schedule`, and report it in `logs` as `dropout_rate`.

    Curriculum dropout (Morerio et al. 2017) starts without dropout and ramps it up, so the
    network first learns easy features, then is regularized harder:

        DropoutScheduler({"name": "warmup", "base_lr": 0.5, "total_iters": 20,
                          "start_factor": 0.0})     # 0 -> 0.5 over 20 epochs, then held

    (`base_lr` is the schedule's value at full strength; the schedules keep PyTorch's names.)
    """

    def __init__(self, schedule: Any, per: str = "epoch", layers: list[str] | None = None):
        super().__init__({"dropout_rate": schedule}, per)
        self.layers = None if layers is None else list(layers)

    def scheduled_layers(self, model: keras.Model) -> list[ScheduledDropout]:
        found = layers_of_type(model, ScheduledDropout, self.layers)
        if not found:
            which = f"named {', '.join(self.layers)} " if self.layers else ""
            raise KerazooError(
                f"DropoutScheduler found no ScheduledDropout layer {which}in model "
                f"{model.name!r}; build the model with kerazoo.layers.ScheduledDropout, e.g. "
                "mlp(schedulable=True) (a keras.layers.Dropout's rate is fixed once fit has "
                "traced the step)")
        if self.layers is not None:
            missing = sorted(set(self.layers) - {layer.name for layer in found})
            if missing:
                raise KerazooError(f"DropoutScheduler: no ScheduledDropout layer named "
                                   f"{', '.join(missing)}; accepted: "
                                   f"{', '.join(layer.name for layer in found)}")
        return found

    def check_model(self, model: keras.Model) -> None:
        """The recipe runner asks before the run exists, so the mistake leaves no run."""
        self.scheduled_layers(model)

    def targets(self):
        found = self.scheduled_layers(self.model)
        assigners = [fit_state.scalar_assigner(layer.rate) for layer in found]

        def set_rate(value: float) -> float:
            if not 0 <= value < 1:
                raise KerazooError(f"the dropout schedule must give a rate in [0, 1). "
                                   f"Received: dropout_rate={value!r}")
            for assign in assigners:
                assign(value)
            return value

        return {"dropout_rate": set_rate}
