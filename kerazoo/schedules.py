"""Schedules: pure functions of the training step, with PyTorch's parameter names and meaning.

Each function maps a step (a batch or an epoch index from 0, whichever the caller counts) to a
value: a learning rate, a momentum, a dropout rate, a penalty strength. Nothing here imports
Keras: a schedule can be plotted, tested against its paper's formula and reasoned about
without a model. `kerazoo.callbacks.LRScheduler` and its siblings apply them during `fit`.

Recipes name a schedule as data, `{"name": "one_cycle", "max_lr": 0.01}`; `resolve` turns
that into a function of the step, filling `total_steps` from `fit` when the spec leaves it out.

Deliberate differences from PyTorch: past the last step, `one_cycle` holds its final value
(PyTorch raises), and `warmup` accepts `start_factor=0` (a ramp from zero, which PyTorch's
recursive form cannot divide by).
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable, Mapping
from typing import Any

from kerazoo.errors import KerazooError, did_you_mean, unknown_name

Schedule = Callable[[int], float]


def _check(condition: bool, argument: str, accepted: str, value: Any) -> None:
    if not condition:
        raise KerazooError(f"`{argument}` must be {accepted}. Received: {argument}={value!r}")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _positive(argument: str, value: Any) -> None:
    _check(_is_number(value) and value > 0, argument, "a positive number", value)


def _positive_int(argument: str, value: Any) -> None:
    _check(isinstance(value, int) and not isinstance(value, bool) and value > 0, argument,
           "a positive integer", value)


def _non_negative(argument: str, value: Any) -> None:
    _check(_is_number(value) and value >= 0, argument, "a non-negative number", value)


def _momentum_range(base_momentum: Any, max_momentum: Any) -> None:
    _check(_is_number(base_momentum) and 0 <= base_momentum < 1, "base_momentum",
           "a number in [0, 1)", base_momentum)
    _check(_is_number(max_momentum) and base_momentum <= max_momentum < 1, "max_momentum",
           "a number in [base_momentum, 1)", max_momentum)


def _step(step: Any) -> None:
    _non_negative("step", step)


def _anneal(start: float, end: float, fraction: float, anneal: str) -> float:
    if anneal == "cos":
        return end + (start - end) / 2.0 * (math.cos(math.pi * fraction) + 1.0)
    return start + (end - start) * fraction


def _one_cycle_phases(total_steps: int, pct_start: float, three_phase: bool):
    """(last step, start value index, end value index) of each phase, as in PyTorch.

    Value indices: 0 = the low end (initial LR, max momentum), 1 = the peak (max LR, base
    momentum), 2 = the end (min LR, max momentum).
    """
    if three_phase:
        return ((pct_start * total_steps - 1, 0, 1),
                (2 * pct_start * total_steps - 2, 1, 0),
                (total_steps - 1, 0, 2))
    return ((pct_start * total_steps - 1, 0, 1), (total_steps - 1, 1, 2))


def _one_cycle_value(step: float, total_steps: int, pct_start: float, anneal: str,
                     three_phase: bool, values: tuple[float, float, float]) -> float:
    _step(step)
    _positive_int("total_steps", total_steps)
    _check(_is_number(pct_start) and 0 < pct_start < 1, "pct_start", "a number in (0, 1)",
           pct_start)
    _check(anneal in ("cos", "linear"), "anneal", "'cos' or 'linear'", anneal)
    step = min(step, total_steps - 1)  # PyTorch raises past the end; hold the final value
    phase_start = 0.0
    phases = _one_cycle_phases(total_steps, pct_start, three_phase)
    for index, (phase_end, start, end) in enumerate(phases):
        if step <= phase_end or index == len(phases) - 1:
            length = phase_end - phase_start
            fraction = (step - phase_start) / length if length > 0 else 1.0
            return _anneal(values[start], values[end], fraction, anneal)
        phase_start = phase_end
    raise AssertionError("unreachable: the last phase always matches")


def one_cycle(step: float, total_steps: int, max_lr: float, pct_start: float = 0.3,
              div_factor: float = 25.0, final_div_factor: float = 1e4, anneal: str = "cos",
              three_phase: bool = False) -> float:
    """The 1cycle learning rate (Smith & Topin 2018), with PyTorch OneCycleLR's conventions.

    Starts at max_lr / div_factor, peaks at max_lr at step pct_start * total_steps - 1, then
    anneals to max_lr / (div_factor * final_div_factor) at step total_steps - 1. With
    `three_phase`, it comes back down to the start value symmetrically before the final
    annealing (fastai's original shape).
    """
    _positive("max_lr", max_lr)
    _positive("div_factor", div_factor)
    _positive("final_div_factor", final_div_factor)
    initial = max_lr / div_factor
    return _one_cycle_value(step, total_steps, pct_start, anneal, three_phase,
                            (initial, max_lr, initial / final_div_factor))


def one_cycle_momentum(step: float, total_steps: int, pct_start: float = 0.3,
                       base_momentum: float = 0.85, max_momentum: float = 0.95,
                       anneal: str = "cos", three_phase: bool = False) -> float:
    """The momentum (or Adam's beta_1) companion of `one_cycle`: cycled inversely to the
    learning rate, max_momentum -> base_momentum at the LR peak -> max_momentum at the end.
    A high learning rate with high momentum diverges; Smith lowers one as the other rises."""
    _momentum_range(base_momentum, max_momentum)
    return _one_cycle_value(step, total_steps, pct_start, anneal, three_phase,
                            (max_momentum, base_momentum, max_momentum))


CYCLIC_MODES = ("triangular", "triangular2", "exp_range")


def _cyclic_scale(step: float, step_size_up: float, step_size_down: float | None, mode: str,
                  gamma: float) -> float:
    """Where in [0, 1] the cycle is at `step` (0 at the base, 1 at the peak), times the
    amplitude factor of `mode`."""
    _step(step)
    _positive("step_size_up", step_size_up)
    if step_size_down is None:
        step_size_down = step_size_up
    _positive("step_size_down", step_size_down)
    _check(mode in CYCLIC_MODES, "mode", " or ".join(map(repr, CYCLIC_MODES)), mode)
    _positive("gamma", gamma)
    cycle_length = step_size_up + step_size_down
    cycle = math.floor(1 + step / cycle_length)  # from 1, as in Smith (2017)
    position = 1.0 + step / cycle_length - cycle
    up_ratio = step_size_up / cycle_length
    if position <= up_ratio:
        height = position / up_ratio
    else:
        height = (position - 1) / (up_ratio - 1)
    if mode == "triangular2":
        return height / 2.0 ** (cycle - 1)
    if mode == "exp_range":
        return height * gamma**step
    return height


def cyclic(step: float, base_lr: float, max_lr: float, step_size_up: float = 2000,
           step_size_down: float | None = None, mode: str = "triangular",
           gamma: float = 1.0) -> float:
    """Cyclical learning rate (Smith 2017), as PyTorch CyclicLR: up from base_lr to max_lr in
    step_size_up steps, down in step_size_down (default: the same). `triangular2` halves the
    amplitude every cycle; `exp_range` scales it by gamma ** step."""
    _non_negative("base_lr", base_lr)
    _check(_is_number(max_lr) and max_lr >= base_lr, "max_lr", "a number >= base_lr", max_lr)
    return base_lr + (max_lr - base_lr) * _cyclic_scale(step, step_size_up, step_size_down,
                                                         mode, gamma)


def cyclic_momentum(step: float, base_momentum: float = 0.8, max_momentum: float = 0.9,
                    step_size_up: float = 2000, step_size_down: float | None = None,
                    mode: str = "triangular", gamma: float = 1.0) -> float:
    """The momentum companion of `cyclic`: max_momentum when the LR is at its base,
    base_momentum at its peak (PyTorch CyclicLR with cycle_momentum=True)."""
    _momentum_range(base_momentum, max_momentum)
    return max_momentum - (max_momentum - base_momentum) * _cyclic_scale(
        step, step_size_up, step_size_down, mode, gamma)


def cosine_restarts(step: float, base_lr: float, T_0: float, T_mult: int = 1,  # noqa: N803
                    eta_min: float = 0.0) -> float:
    """SGDR (Loshchilov & Hutter 2017), as PyTorch CosineAnnealingWarmRestarts: cosine
    annealing from base_lr to eta_min over T_0 steps, then a restart, each period T_mult
    times longer than the one before."""
    _step(step)
    _non_negative("base_lr", base_lr)
    _positive("T_0", T_0)
    _check(isinstance(T_mult, int) and not isinstance(T_mult, bool) and T_mult >= 1, "T_mult",
           "an integer >= 1", T_mult)
    _check(_is_number(eta_min) and 0 <= eta_min <= base_lr, "eta_min",
           "a number in [0, base_lr]", eta_min)
    if T_mult == 1:
        position, period = math.fmod(step, T_0), T_0
    else:
        # Walk the periods instead of PyTorch's logarithm: exact at restart boundaries.
        position, period = float(step), float(T_0)
        while position >= period:
            position -= period
            period *= T_mult
    return eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * position / period)) / 2


def warmup(step: float, base_lr: float, total_iters: int = 5, start_factor: float = 1 / 3,
           end_factor: float = 1.0) -> float:
    """Linear warm-up, as PyTorch LinearLR: base_lr times a factor going linearly from
    start_factor to end_factor over total_iters steps, then held. With start_factor=0 it is
    a ramp from zero (curriculum dropout, penalty warm-up)."""
    _step(step)
    _non_negative("base_lr", base_lr)
    _positive_int("total_iters", total_iters)
    _check(_is_number(start_factor) and 0 <= start_factor <= 1, "start_factor",
           "a number in [0, 1]", start_factor)
    _check(_is_number(end_factor) and 0 <= end_factor <= 1, "end_factor",
           "a number in [0, 1]", end_factor)
    progress = min(step, total_iters) / total_iters
    return base_lr * (start_factor + (end_factor - start_factor) * progress)


def step_decay(step: float, base_lr: float, step_size: int, gamma: float = 0.1) -> float:
    """base_lr multiplied by gamma every step_size steps (PyTorch StepLR)."""
    _step(step)
    _non_negative("base_lr", base_lr)
    _positive_int("step_size", step_size)
    _positive("gamma", gamma)
    return base_lr * gamma ** (step // step_size)


def exponential_decay(step: float, base_lr: float, gamma: float) -> float:
    """base_lr multiplied by gamma every step (PyTorch ExponentialLR)."""
    _step(step)
    _non_negative("base_lr", base_lr)
    _positive("gamma", gamma)
    return base_lr * gamma**step


def constant(step: float, value: float) -> float:
    """The same value at every step (to pin one strength while another is scheduled)."""
    _step(step)
    _check(_is_number(value), "value", "a number", value)
    return float(value)


def gradient_noise_variance(step: float, eta: float, gamma: float = 0.55) -> float:
    """Variance of the Gaussian gradient noise of Neelakantan et al. (2015): eta / (1 + t)^gamma.
    The paper uses eta in {0.01, 0.3, 1.0} and gamma = 0.55."""
    _step(step)
    _positive("eta", eta)
    _positive("gamma", gamma)
    return eta / (1.0 + step) ** gamma


SCHEDULES: dict[str, Callable[..., float]] = {
    function.__name__: function
    for function in (one_cycle, one_cycle_momentum, cyclic, cyclic_momentum, cosine_restarts,
                     warmup, step_decay, exponential_decay, constant, gradient_noise_variance)
}

# Arguments a callback can fill from `fit` (epochs x steps) when a spec leaves them out.
INFERABLE = ("total_steps",)


def _spec_parts(spec: Mapping[str, Any], argument: str) -> tuple[Callable[..., float], dict]:
    if "name" not in spec:
        raise KerazooError(f"`{argument}` must name a schedule, e.g. {{name: one_cycle, "
                           f"max_lr: 0.01}}; accepted names: {', '.join(SCHEDULES)}. "
                           f"Received: {argument}={dict(spec)!r}")
    name = spec["name"]
    if name not in SCHEDULES:
        raise unknown_name("schedule", str(name), SCHEDULES)
    keywords = {key: value for key, value in spec.items() if key != "name"}
    return SCHEDULES[name], keywords


def missing_arguments(spec: Any, argument: str = "schedule") -> list[str]:
    """Check a spec's names and keywords; return the required arguments it leaves out.

    A callable spec is taken as it is (its caller vouches for it) and misses nothing.
    """
    if callable(spec):
        return []
    if not isinstance(spec, Mapping):
        raise KerazooError(f"`{argument}` must be a function of the step or a mapping like "
                           f"{{name: cosine_restarts, base_lr: 0.1, T_0: 10}}. "
                           f"Received: {argument}={spec!r}")
    function, keywords = _spec_parts(spec, argument)
    parameters = dict(inspect.signature(function).parameters)
    parameters.pop("step")
    accepted = sorted(parameters)
    for keyword in keywords:
        if keyword not in parameters:
            raise KerazooError(f"schedule {spec['name']!r} has no argument {keyword!r}"
                               f"{did_you_mean(keyword, accepted)}; accepted: "
                               f"{', '.join(accepted)}")
    return [name for name, parameter in parameters.items()
            if parameter.default is inspect.Parameter.empty and name not in keywords]


def check(spec: Any, argument: str = "schedule") -> None:
    """Raise `KerazooError` unless `spec` can become a schedule, before anything trains.

    Names, keywords and values are all checked: the schedule is evaluated once, with a
    stand-in for each argument that `fit` supplies later (total_steps).
    """
    resolve(spec, argument, **{name: 1 for name in INFERABLE})


def resolve(spec: Any, argument: str = "schedule", **inferred: Any) -> Schedule:
    """A function of the step from a callable or a `{name: ..., **keywords}` spec.

    `inferred` fills required arguments the spec leaves out (e.g. total_steps from `fit`).
    The schedule is evaluated once at step 0 so bad values fail here, not mid-training.
    """
    if callable(spec):
        return spec
    missing = missing_arguments(spec, argument)
    function, keywords = _spec_parts(spec, argument)
    for name in missing:
        if name not in inferred or inferred[name] is None:
            raise KerazooError(f"schedule {spec['name']!r} needs {name}. "
                               f"Received: {argument}={dict(spec)!r}")
        keywords[name] = inferred[name]
    bound = functools.partial(function, **keywords)
    bound(0)
    return bound
