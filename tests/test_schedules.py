"""Schedules against the closed forms in their papers, at the steps that define them
(start, peak, phase ends, restart boundaries). No Keras needed."""

from __future__ import annotations

import math
import sys

import pytest

from kerazoo import schedules
from kerazoo.errors import KerazooError


def test_schedules_import_no_keras():
    import subprocess

    code = "import sys, kerazoo.schedules; print('keras' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"


# --- 1cycle (Smith & Topin 2018; PyTorch OneCycleLR conventions) ----------------------------

MAX_LR, TOTAL = 0.1, 1000


def test_one_cycle_start_peak_and_end():
    assert schedules.one_cycle(0, TOTAL, MAX_LR) == pytest.approx(MAX_LR / 25)
    peak = 0.3 * TOTAL - 1
    assert schedules.one_cycle(peak, TOTAL, MAX_LR) == pytest.approx(MAX_LR)
    assert schedules.one_cycle(TOTAL - 1, TOTAL, MAX_LR) == pytest.approx(MAX_LR / 25 / 1e4)


def test_one_cycle_cosine_halfway_points():
    peak, end = 0.3 * TOTAL - 1, TOTAL - 1
    initial, final = MAX_LR / 25, MAX_LR / 25 / 1e4
    # cosine annealing is at the mean of its two ends halfway through a phase
    assert schedules.one_cycle(peak / 2, TOTAL, MAX_LR) == pytest.approx((initial + MAX_LR) / 2)
    assert schedules.one_cycle((peak + end) / 2, TOTAL, MAX_LR) == pytest.approx(
        (MAX_LR + final) / 2)


def test_one_cycle_linear_quarter_point():
    peak = 0.3 * TOTAL - 1
    initial = MAX_LR / 10
    value = schedules.one_cycle(peak / 4, TOTAL, MAX_LR, div_factor=10, anneal="linear")
    assert value == pytest.approx(initial + (MAX_LR - initial) / 4)


def test_one_cycle_three_phase_returns_to_start_before_final_annealing():
    initial = MAX_LR / 25
    assert schedules.one_cycle(0.3 * TOTAL - 1, TOTAL, MAX_LR, three_phase=True) == \
        pytest.approx(MAX_LR)
    assert schedules.one_cycle(0.6 * TOTAL - 2, TOTAL, MAX_LR, three_phase=True) == \
        pytest.approx(initial)
    assert schedules.one_cycle(TOTAL - 1, TOTAL, MAX_LR, three_phase=True) == \
        pytest.approx(initial / 1e4)


def test_one_cycle_holds_final_value_past_the_end():
    assert schedules.one_cycle(TOTAL + 50, TOTAL, MAX_LR) == \
        schedules.one_cycle(TOTAL - 1, TOTAL, MAX_LR)


def test_one_cycle_momentum_is_inverse():
    peak = 0.3 * TOTAL - 1
    assert schedules.one_cycle_momentum(0, TOTAL) == pytest.approx(0.95)
    assert schedules.one_cycle_momentum(peak, TOTAL) == pytest.approx(0.85)
    assert schedules.one_cycle_momentum(peak / 2, TOTAL) == pytest.approx(0.90)
    assert schedules.one_cycle_momentum(TOTAL - 1, TOTAL) == pytest.approx(0.95)


# --- cyclical learning rates (Smith 2017) ----------------------------------------------------

def smith_triangular(iteration, base_lr, max_lr, step_size, mode="triangular", gamma=1.0):
    """Smith (2017), section 3.1, written as in the paper."""
    cycle = math.floor(1 + iteration / (2 * step_size))
    x = abs(iteration / step_size - 2 * cycle + 1)
    scale = {"triangular": 1.0, "triangular2": 1 / 2 ** (cycle - 1),
             "exp_range": gamma**iteration}[mode]
    return base_lr + (max_lr - base_lr) * max(0.0, 1 - x) * scale


@pytest.mark.parametrize("mode", schedules.CYCLIC_MODES)
@pytest.mark.parametrize("step", [0, 1, 250, 499, 500, 501, 999, 1000, 1500, 2000, 2750, 4321])
def test_cyclic_matches_the_paper(mode, step):
    got = schedules.cyclic(step, 0.001, 0.006, step_size_up=500, mode=mode, gamma=0.9995)
    assert got == pytest.approx(smith_triangular(step, 0.001, 0.006, 500, mode, 0.9995))


def test_cyclic_boundaries_and_asymmetric_cycle():
    assert schedules.cyclic(0, 0.1, 1.0, step_size_up=10) == pytest.approx(0.1)
    assert schedules.cyclic(10, 0.1, 1.0, step_size_up=10) == pytest.approx(1.0)
    assert schedules.cyclic(20, 0.1, 1.0, step_size_up=10) == pytest.approx(0.1)
    # triangular2: the second cycle's peak is half as high
    assert schedules.cyclic(30, 0.1, 1.0, step_size_up=10, mode="triangular2") == \
        pytest.approx(0.1 + 0.9 / 2)
    # up in 10 steps, down in 30
    assert schedules.cyclic(25, 0.0, 1.0, step_size_up=10, step_size_down=30) == \
        pytest.approx(0.5)
    assert schedules.cyclic(40, 0.0, 1.0, step_size_up=10, step_size_down=30) == \
        pytest.approx(0.0)


def test_cyclic_momentum_mirrors_the_rate():
    assert schedules.cyclic_momentum(0, step_size_up=10) == pytest.approx(0.9)
    assert schedules.cyclic_momentum(10, step_size_up=10) == pytest.approx(0.8)
    assert schedules.cyclic_momentum(5, step_size_up=10) == pytest.approx(0.85)


# --- SGDR (Loshchilov & Hutter 2017) -----------------------------------------------------------

def sgdr(t_cur, t_i, eta_max, eta_min):
    """Equation 5 of the paper."""
    return eta_min + 0.5 * (eta_max - eta_min) * (1 + math.cos(t_cur / t_i * math.pi))


@pytest.mark.parametrize("step, t_cur, t_i", [
    (0, 0, 10), (5, 5, 10), (9, 9, 10),
    (10, 0, 20), (20, 10, 20), (29, 19, 20),     # second period, twice as long
    (30, 0, 40), (70, 0, 80), (71.5, 1.5, 80),   # restarts at 10, 30, 70; fractional steps
])
def test_cosine_restarts_with_growing_periods(step, t_cur, t_i):
    got = schedules.cosine_restarts(step, base_lr=0.05, T_0=10, T_mult=2, eta_min=0.001)
    assert got == pytest.approx(sgdr(t_cur, t_i, 0.05, 0.001))


def test_cosine_restarts_fixed_period():
    assert schedules.cosine_restarts(0, 1.0, T_0=8) == pytest.approx(1.0)
    assert schedules.cosine_restarts(4, 1.0, T_0=8) == pytest.approx(0.5)
    assert schedules.cosine_restarts(8, 1.0, T_0=8) == pytest.approx(1.0)
    assert schedules.cosine_restarts(20, 1.0, T_0=8) == pytest.approx(0.5)


# --- warm-up and decays (PyTorch LinearLR, StepLR, ExponentialLR) ----------------------------

def test_warmup_is_linear_then_flat():
    assert schedules.warmup(0, 0.3, total_iters=10, start_factor=0.0) == 0.0
    assert schedules.warmup(5, 0.3, total_iters=10, start_factor=0.0) == pytest.approx(0.15)
    assert schedules.warmup(10, 0.3, total_iters=10, start_factor=0.0) == pytest.approx(0.3)
    assert schedules.warmup(99, 0.3, total_iters=10, start_factor=0.0) == pytest.approx(0.3)
    assert schedules.warmup(0, 0.3) == pytest.approx(0.1)  # PyTorch's default start_factor 1/3


def test_step_and_exponential_decay():
    assert schedules.step_decay(29, 1.0, step_size=30) == 1.0
    assert schedules.step_decay(30, 1.0, step_size=30) == pytest.approx(0.1)
    assert schedules.step_decay(65, 1.0, step_size=30, gamma=0.5) == pytest.approx(0.25)
    assert schedules.exponential_decay(3, 2.0, gamma=0.5) == pytest.approx(0.25)


def test_gradient_noise_variance_decays_with_power_055():
    assert schedules.gradient_noise_variance(0, eta=0.3) == pytest.approx(0.3)
    assert schedules.gradient_noise_variance(999, eta=0.3) == pytest.approx(0.3 / 1000**0.55)


# --- specs and errors -----------------------------------------------------------------------

def test_resolve_binds_keywords_and_infers_total_steps():
    schedule = schedules.resolve({"name": "one_cycle", "max_lr": 0.1}, total_steps=TOTAL)
    assert schedule(0) == pytest.approx(0.1 / 25)
    assert schedule(TOTAL - 1) == pytest.approx(0.1 / 25 / 1e4)


def test_resolve_keeps_callables():
    function = lambda step: 0.5  # noqa: E731
    assert schedules.resolve(function) is function


@pytest.mark.parametrize("spec, message", [
    ({"name": "one_cylce", "max_lr": 0.1}, "unknown schedule 'one_cylce' (did you mean "
                                            "'one_cycle'"),
    ({"name": "cyclic", "base_lr": 0.1, "max_lr": 1, "step_size": 3}, "no argument "
                                                                        "'step_size'"),
    ({"name": "cosine_restarts", "base_lr": 0.1}, "needs T_0"),
    ({"max_lr": 0.1}, "must name a schedule"),
    ({"name": "one_cycle", "max_lr": -1.0, "total_steps": 10},
     "`max_lr` must be a positive number. Received: max_lr=-1.0"),
    ("fast", "must be a function of the step or a mapping"),
])
def test_bad_specs_are_clear_errors(spec, message):
    with pytest.raises(KerazooError) as raised:
        schedules.check(spec)
    assert message in str(raised.value)


def test_one_cycle_needs_total_steps_when_nothing_infers_it():
    with pytest.raises(KerazooError, match="needs total_steps"):
        schedules.resolve({"name": "one_cycle", "max_lr": 0.1})


@pytest.mark.parametrize("call, message", [
    (lambda: schedules.one_cycle(0, 0, 0.1), "`total_steps` must be a positive integer"),
    (lambda: schedules.one_cycle(0, 10, 0.1, pct_start=1.5), "`pct_start` must be a number"),
    (lambda: schedules.one_cycle(0, 10, 0.1, anneal="cosine"), "`anneal` must be 'cos' or"),
    (lambda: schedules.cyclic(0, 0.1, 1.0, mode="tri"), "`mode` must be 'triangular'"),
    (lambda: schedules.cosine_restarts(0, 0.1, T_0=10, T_mult=0), "`T_mult` must be an "
                                                                  "integer >= 1"),
    (lambda: schedules.one_cycle(-1, 10, 0.1), "`step` must be a non-negative number"),
])
def test_bad_arguments_name_the_argument(call, message):
    with pytest.raises(KerazooError, match=message.replace("(", r"\(")):
        call()
