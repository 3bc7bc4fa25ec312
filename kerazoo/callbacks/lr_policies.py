"""The named learning-rate policies as ready callbacks: 1cycle, cyclical, SGDR.

Thin on top of `LRScheduler`: each fixes the schedule and fills what it can from `fit`
(total steps, cycle lengths) when not given, so `OneCycle(max_lr=0.01)` is complete.
Arguments keep PyTorch's names (OneCycleLR, CyclicLR, CosineAnnealingWarmRestarts).
"""

from __future__ import annotations

from typing import Any

import keras

from kerazoo import arguments
from kerazoo.callbacks.lr_scheduler import LRScheduler
from kerazoo.errors import KerazooError


def _spec(name: str, **keywords: Any) -> dict[str, Any]:
    """A schedule spec without the keywords left as None (to be filled from fit)."""
    return {"name": name, **{key: value for key, value in keywords.items()
                             if value is not None}}


class OneCycle(LRScheduler):
    """The 1cycle policy (Smith & Topin 2018), per batch: LR up from max_lr / div_factor to
    max_lr over the first pct_start of training, then down to max_lr / (div_factor *
    final_div_factor); momentum (Adam's beta_1) the other way, max -> base -> max.

    `total_steps` defaults to epochs x batches per epoch of the `fit` it runs in.
    """

    def __init__(self, max_lr: float, total_steps: int | None = None, pct_start: float = 0.3,
                 div_factor: float = 25.0, final_div_factor: float = 1e4, anneal: str = "cos",
                 three_phase: bool = False, cycle_momentum: bool = True,
                 base_momentum: float = 0.85, max_momentum: float = 0.95):
        shape = {"total_steps": total_steps, "pct_start": pct_start, "anneal": anneal,
                 "three_phase": three_phase}
        momentum = _spec("one_cycle_momentum", base_momentum=base_momentum,
                         max_momentum=max_momentum, **shape) if cycle_momentum else None
        super().__init__(_spec("one_cycle", max_lr=max_lr, div_factor=div_factor,
                               final_div_factor=final_div_factor, **shape),
                         per="batch", momentum=momentum)

    def bind(self, key, spec):
        if "total_steps" not in spec:
            self.require_total_steps(key)
        return super().bind(key, spec)


class CyclicLR(LRScheduler):
    """Cyclical learning rates (Smith 2017), per batch: triangular waves between base_lr and
    max_lr; momentum cycles the other way between max_momentum and base_momentum.

    Without `step_size_up`, the cycle length is fitted to training: `cycles` whole cycles over
    the fit, so training ends at the base learning rate, where Smith stops it. (Smith's
    rule of thumb for a hand-picked step size is 2 to 10 epochs of batches.)
    """

    def __init__(self, base_lr: float, max_lr: float, step_size_up: float | None = None,
                 step_size_down: float | None = None, mode: str = "triangular",
                 gamma: float = 1.0, cycle_momentum: bool = True, base_momentum: float = 0.8,
                 max_momentum: float = 0.9, cycles: int = 2):
        self.cycles = arguments.positive_int("cycles", cycles)
        self.step_size_up = step_size_up
        self.step_size_down = step_size_down
        shape = {"step_size_up": step_size_up, "step_size_down": step_size_down, "mode": mode,
                 "gamma": gamma}
        momentum = _spec("cyclic_momentum", base_momentum=base_momentum,
                         max_momentum=max_momentum, **shape) if cycle_momentum else None
        super().__init__(_spec("cyclic", base_lr=base_lr, max_lr=max_lr, **shape),
                         per="batch", momentum=momentum)

    def bind(self, key, spec):
        if self.step_size_up is None:
            half_cycle = self.require_total_steps(key) / (2 * self.cycles)
            spec = {**spec, "step_size_up": half_cycle}
            if self.step_size_down is None:
                spec["step_size_down"] = half_cycle
        return super().bind(key, spec)


class CosineRestarts(LRScheduler):
    """SGDR (Loshchilov & Hutter 2017): cosine annealing from base_lr to eta_min over T_0
    steps, then a warm restart, each period T_mult times the one before.

    `per="batch"` (default) anneals smoothly within epochs as in the paper, with T_0 counted
    in batches; `per="epoch"` counts T_0 in epochs. `base_lr` defaults to the optimizer's
    learning rate when training starts; `T_0` defaults to the length that fits `cycles` whole
    periods into the fit.
    """

    def __init__(self, base_lr: float | None = None, T_0: float | None = None,  # noqa: N803
                 T_mult: int = 1, eta_min: float = 0.0, per: str = "batch",  # noqa: N803
                 cycles: int = 1):
        self.cycles = arguments.positive_int("cycles", cycles)
        eta_min = arguments.non_negative("eta_min", eta_min)
        self.base_lr = base_lr
        self.T_0 = T_0
        self.T_mult = T_mult
        # checked now with stand-ins for what fit or the optimizer supplies later
        super().__init__(_spec("cosine_restarts", base_lr=1.0 if base_lr is None else base_lr,
                               T_0=1 if T_0 is None else T_0, T_mult=T_mult,
                               eta_min=0.0 if base_lr is None else eta_min),
                         per=per)
        self.schedules["learning_rate"]["eta_min"] = eta_min

    def bind(self, key, spec):
        spec = dict(spec)
        if self.base_lr is None:
            if not hasattr(self, "_initial_learning_rate"):  # the first fit's, kept for later
                self._initial_learning_rate = float(
                    keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
            spec["base_lr"] = self._initial_learning_rate
        if spec["eta_min"] > spec["base_lr"]:
            raise KerazooError(f"`eta_min` must be at most base_lr ({spec['base_lr']}). "
                               f"Received: eta_min={spec['eta_min']!r}")
        if self.T_0 is None:
            total = self.require_total_steps(key)
            if self.T_mult == 1:
                spec["T_0"] = total / self.cycles
            else:  # T_0 (1 + T_mult + ... + T_mult^(cycles-1)) = total
                spec["T_0"] = total * (self.T_mult - 1) / (self.T_mult**self.cycles - 1)
        return super().bind(key, spec)
