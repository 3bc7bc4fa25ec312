"""Learning-rate callbacks inside real compiled `fit` runs: the rates and momenta the step
actually used are read back from weights whose trajectory has a closed form."""

from __future__ import annotations

import gc
import math
import weakref

import keras
import numpy as np
import pytest

from kerazoo import schedules
from kerazoo.callbacks import CosineRestarts, CyclicLR, LRScheduler, OneCycle
from kerazoo.callbacks.optimizer_hyperparameters import KEPT_STEP
from kerazoo.callbacks.weight_decay import WeightDecayScheduler
from kerazoo.errors import KerazooError
from tests.callback_helpers import (
    BatchRecorder,
    EpochRecorder,
    Stop,
    constant_gradient_model,
    ones_data,
    raise_at,
    weight,
)

STEPS, EPOCHS = 4, 3  # 8 samples in batches of 2


def fit(model, callbacks, epochs=EPOCHS):
    x, y = ones_data()
    recorder = EpochRecorder()
    model.fit(x, y, batch_size=2, epochs=epochs, callbacks=[*callbacks, recorder], verbose=0)
    return recorder


def test_per_batch_schedule_drives_the_compiled_step():
    model = constant_gradient_model(keras.optimizers.SGD(0.5))
    schedule = {"name": "one_cycle", "max_lr": 0.1}  # total_steps comes from fit
    recorder = fit(model, [LRScheduler(schedule, per="batch")])
    total = STEPS * EPOCHS
    rates = [schedules.one_cycle(step, total, 0.1) for step in range(total)]
    assert weight(model) == pytest.approx(sum(rates), rel=1e-5)
    # the value in logs is the one in force at the epoch's last batch
    logged = [logs["learning_rate"] for logs in recorder.logs]
    assert logged == pytest.approx([rates[STEPS * (epoch + 1) - 1] for epoch in range(EPOCHS)])


def test_per_epoch_schedule_with_a_plain_function():
    model = constant_gradient_model(keras.optimizers.SGD(0.5))
    recorder = fit(model, [LRScheduler(lambda epoch: 0.1 * (epoch + 1))])
    assert weight(model) == pytest.approx(STEPS * (0.1 + 0.2 + 0.3), rel=1e-5)
    assert [logs["learning_rate"] for logs in recorder.logs] == pytest.approx([0.1, 0.2, 0.3])


def test_a_keras_learning_rate_schedule_is_accepted_and_logged_as_floats():
    """Keras' own schedules return tensors; the callback logs (and History keeps) floats."""
    model = constant_gradient_model(keras.optimizers.SGD(0.5))
    cosine = keras.optimizers.schedules.CosineDecay(1e-3, 100)
    history = model.fit(*ones_data(), batch_size=2, epochs=EPOCHS, verbose=0,
                        callbacks=[LRScheduler(cosine, per="batch")]).history
    rates = [1e-3 * 0.5 * (1 + math.cos(math.pi * step / 100)) for step in range(STEPS * EPOCHS)]
    assert weight(model) == pytest.approx(sum(rates), rel=1e-5)
    logged = history["learning_rate"]
    assert all(type(value) is float for value in logged)
    assert logged == pytest.approx([rates[STEPS * (epoch + 1) - 1] for epoch in range(EPOCHS)])


MOMENTA = [0.9, 0.0, 0.5]  # a momentum schedule that cycles through these, batch by batch


def cycling_momentum() -> LRScheduler:
    return LRScheduler(lambda step: 0.1, per="batch", momentum=lambda step: MOMENTA[step % 3])


def sgd_positions(steps) -> list[float]:
    """The weight after each of `steps` (indices into MOMENTA's cycle) at learning rate 0.1."""
    velocity, position, positions = 0.0, 0.0, []
    for step in steps:  # Keras SGD: v = momentum * v - lr * g; w += v
        velocity = MOMENTA[step % 3] * velocity + 0.1
        position += velocity
        positions.append(position)
    return positions


def test_momentum_schedule_drives_sgd_velocity():
    model = constant_gradient_model(keras.optimizers.SGD(0.1, momentum=0.5))
    recorder = BatchRecorder()
    fit(model, [cycling_momentum(), recorder])
    assert recorder.weights == pytest.approx(sgd_positions(range(STEPS * EPOCHS)), rel=1e-5)
    # afterwards the optimizer holds a plain float again, so it saves as usual
    assert model.optimizer.momentum == pytest.approx(MOMENTA[(STEPS * EPOCHS - 1) % 3])
    assert isinstance(model.optimizer.momentum, float)
    keras.optimizers.SGD.from_config(model.optimizer.get_config())


def test_a_second_fit_schedules_momentum_again_from_the_step_kept_on_tensorflow():
    model = constant_gradient_model(keras.optimizers.SGD(0.1, momentum=0.5))
    recorder = BatchRecorder()
    fit(model, [cycling_momentum(), recorder])
    kept = getattr(model, KEPT_STEP, None)
    fit(model, [cycling_momentum(), recorder])
    expected = sgd_positions([*range(STEPS * EPOCHS)] * 2)  # each fit counts steps from 0
    assert recorder.weights == pytest.approx(expected, rel=1e-5)
    assert isinstance(model.optimizer.momentum, float)
    if keras.backend.backend() == "tensorflow":  # the second fit traced nothing new
        assert getattr(model, KEPT_STEP) is kept and kept is not None


def test_a_momentum_set_between_fits_is_read_when_the_kept_step_comes_back():
    # The second fit swaps back in the step that read the momentum variable (weight decay is
    # scheduled in both); that variable must hold the momentum set in between, 0.
    model = constant_gradient_model(keras.optimizers.SGD(0.1, momentum=0.5))
    fit(model, [cycling_momentum(), WeightDecayScheduler(lambda epoch: 0.0)])
    model.optimizer.momentum = 0.0
    fit(model, [WeightDecayScheduler(lambda epoch: 0.0)])
    after_first = sgd_positions(range(STEPS * EPOCHS))[-1]
    assert weight(model) == pytest.approx(after_first + STEPS * EPOCHS * 0.1, rel=1e-5)
    assert model.optimizer.momentum == 0.0


def test_a_momentum_left_by_a_fit_that_raised_is_a_float_after_the_next_scheduled_fit():
    # Keras calls no hook when a fit raises; the next scheduled fit takes the variable back
    model = constant_gradient_model(keras.optimizers.SGD(0.1, momentum=0.5))
    # at batch 3 the momentum taken back is 0.5 or 0.9; a 0 would end SGD's momentum
    with pytest.raises(Stop):
        fit(model, [cycling_momentum(), raise_at(3)])
    fit(model, [cycling_momentum()])
    assert isinstance(model.optimizer.momentum, float)
    keras.optimizers.SGD.from_config(model.optimizer.get_config())


def test_a_fit_that_schedules_weight_decay_alone_holds_the_momentum_as_a_float():
    # the step kept from a fit that also scheduled momentum is not for this one: a
    # checkpoint written during it must keep SGD's momentum a float
    model = constant_gradient_model(keras.optimizers.SGD(0.1, momentum=0.5))
    fit(model, [cycling_momentum(), WeightDecayScheduler(lambda epoch: 0.0)])
    seen = []
    check = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: seen.append(type(model.optimizer.momentum)))
    fit(model, [WeightDecayScheduler(lambda epoch: 0.0), check])
    assert seen == [float] * EPOCHS


def test_a_callback_list_reused_after_a_fit_that_raised_leaves_floats():
    model = constant_gradient_model(keras.optimizers.SGD(0.1, momentum=0.5))
    raising = raise_at(3)
    callbacks = keras.callbacks.CallbackList([cycling_momentum(), raising], add_history=True,
                                             model=model, epochs=EPOCHS, steps=STEPS)
    x, y = ones_data()
    with pytest.raises(Stop):
        model.fit(x, y, batch_size=2, epochs=EPOCHS, verbose=0, callbacks=callbacks)
    callbacks.callbacks.remove(raising)
    model.fit(x, y, batch_size=2, epochs=EPOCHS, verbose=0, callbacks=callbacks)
    assert isinstance(model.optimizer.momentum, float)
    assert isinstance(model.optimizer._learning_rate, keras.Variable)


def test_a_momentum_left_by_a_fit_that_raised_is_taken_back_by_any_swap():
    model = constant_gradient_model(keras.optimizers.SGD(0.1, momentum=0.5))
    with pytest.raises(Stop):
        fit(model, [cycling_momentum(), raise_at(3)])
    fit(model, [WeightDecayScheduler(lambda epoch: 0.0)])
    assert isinstance(model.optimizer.momentum, float)
    assert isinstance(model.optimizer.weight_decay, float)


def test_of_two_per_batch_schedulers_in_one_fit_the_last_one_sets_the_rate():
    model = constant_gradient_model(keras.optimizers.SGD(1.0))
    fit(model, [LRScheduler(lambda step: 0.01, per="batch"),
                LRScheduler(lambda step: 0.02, per="batch")])
    assert weight(model) == pytest.approx(STEPS * EPOCHS * 0.02, rel=1e-5)


def test_a_plain_fit_between_two_scheduled_ones_changes_nothing_the_schedule_sets():
    # The plain fit traces its own step (momentum a float) for inputs with sample weights;
    # the scheduled fit after it must still read its schedule for those inputs.
    x, y = ones_data()
    weights = np.ones(len(x), "float32")

    def train(between: bool) -> float:
        model = constant_gradient_model(keras.optimizers.SGD(0.1, momentum=0.5))
        fit(model, [cycling_momentum()])
        if between:
            model.fit(x, y, batch_size=2, epochs=1, sample_weight=weights, verbose=0)
        else:  # the same steps, at the momentum that plain fit would use
            model.fit(x, y, batch_size=2, epochs=1, verbose=0)
        model.fit(x, y, batch_size=2, epochs=1, sample_weight=weights, verbose=0,
                  callbacks=[cycling_momentum()])
        return weight(model)

    assert train(between=True) == pytest.approx(train(between=False), rel=1e-6)


def test_a_model_that_ran_a_scheduled_fit_is_freed_with_it():
    model = constant_gradient_model(keras.optimizers.SGD(0.1, momentum=0.5))
    fit(model, [OneCycle(max_lr=0.1)], epochs=1)
    gone = weakref.ref(model)
    del model
    gc.collect()
    assert gone() is None


def test_one_cycle_drives_adam_beta_1_and_logs_it():
    model = constant_gradient_model(keras.optimizers.Adam(1e-3))
    recorder = fit(model, [OneCycle(max_lr=0.01)])
    total = STEPS * EPOCHS
    assert [logs["momentum"] for logs in recorder.logs] == pytest.approx(
        [schedules.one_cycle_momentum(STEPS * (epoch + 1) - 1, total) for epoch in range(3)])
    assert model.optimizer.beta_1 == pytest.approx(schedules.one_cycle_momentum(total - 1,
                                                                                total))
    # Adam (Kingma & Ba, algorithm 1) with a constant gradient g = -1: v is bias-corrected
    # exactly, and m = -(1 - prod of the beta_1s so far) is divided by (1 - beta_1^t) with the
    # *current* beta_1. So each step moves w by lr * (1 - prod beta_1) / (1 - beta_1^t):
    # exactly lr when beta_1 is constant, less or more when it is cycled.
    expected, product = 0.0, 1.0
    for step in range(total):
        beta_1 = schedules.one_cycle_momentum(step, total)
        product *= beta_1
        expected += schedules.one_cycle(step, total, 0.01) * (1 - product) / (
            1 - beta_1 ** (step + 1))
    assert weight(model) == pytest.approx(expected, rel=1e-4)
    constant_rate_sum = sum(schedules.one_cycle(step, total, 0.01) for step in range(total))
    assert abs(weight(model) - constant_rate_sum) > 1e-3  # the cycled beta_1 did act


def test_one_cycle_on_sgd_without_momentum_is_a_clear_error():
    model = constant_gradient_model(keras.optimizers.SGD(0.1))
    with pytest.raises(KerazooError, match=r"momentum=0.*cycle_momentum=False"):
        fit(model, [OneCycle(max_lr=0.1)])
    fit(model, [OneCycle(max_lr=0.1, cycle_momentum=False)])


def test_cooperates_with_reduce_lr_on_plateau():
    """A plateau reduction becomes a multiplier on the schedule instead of being undone."""
    model = constant_gradient_model(keras.optimizers.SGD(0.5))
    # min_delta so large that no epoch after the first counts as an improvement: the plateau
    # callback halves the rate at the end of epochs 2, 3 and 4
    plateau = keras.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0,
                                                min_delta=1e9, verbose=0)
    recorder = fit(model, [LRScheduler(lambda epoch: 0.1 * (epoch + 1)), plateau], epochs=4)
    used = [0.1, 0.2, 0.3 * 0.5, 0.4 * 0.25]
    assert [logs["learning_rate"] for logs in recorder.logs] == pytest.approx(used)
    assert weight(model) == pytest.approx(STEPS * sum(used), rel=1e-5)


def test_optimizer_with_a_keras_schedule_is_a_clear_error():
    decay = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.9)
    model = constant_gradient_model(keras.optimizers.SGD(decay))
    with pytest.raises(KerazooError, match=r"LearningRateSchedule.*SGD\(learning_rate=1e-3\)"):
        fit(model, [LRScheduler(lambda epoch: 0.1)])


def test_cyclic_lr_fits_whole_cycles_into_training():
    model = constant_gradient_model(keras.optimizers.SGD(0.5, momentum=0.9))
    recorder = fit(model, [CyclicLR(base_lr=0.01, max_lr=0.1, cycles=1)], epochs=2)
    # 8 steps, one cycle: up for 4, down for 4, ending back at the base rate
    rates = [schedules.cyclic(step, 0.01, 0.1, step_size_up=4) for step in range(8)]
    assert [logs["learning_rate"] for logs in recorder.logs] == pytest.approx(
        [rates[3], rates[7]])
    assert rates[4] == pytest.approx(0.1)
    assert [logs["momentum"] for logs in recorder.logs] == pytest.approx(
        [schedules.cyclic_momentum(3, step_size_up=4), schedules.cyclic_momentum(7,
                                                                                step_size_up=4)])


def test_cosine_restarts_starts_from_the_optimizer_rate():
    model = constant_gradient_model(keras.optimizers.SGD(0.2))
    recorder = fit(model, [CosineRestarts(per="epoch", cycles=1)], epochs=4)
    expected = [0.2 * (1 + math.cos(math.pi * epoch / 4)) / 2 for epoch in range(4)]
    assert [logs["learning_rate"] for logs in recorder.logs] == pytest.approx(expected)
    assert weight(model) == pytest.approx(STEPS * sum(expected), rel=1e-5)


def test_bad_arguments_fail_at_construction():
    with pytest.raises(KerazooError, match="`per` must be one of 'batch', 'epoch'"):
        LRScheduler(lambda step: 0.1, per="step")
    with pytest.raises(KerazooError, match="`max_lr` must be a positive number"):
        OneCycle(max_lr=0)
    with pytest.raises(KerazooError, match="`mode` must be 'triangular'"):
        CyclicLR(0.01, 0.1, mode="triangle")
    with pytest.raises(KerazooError, match="schedule 'cosine_restarts' needs T_0"):
        LRScheduler({"name": "cosine_restarts", "base_lr": 0.1})


def test_state_is_unchanged_outside_fit():
    """After fit: no extra optimizer variables, no cached step that reads removed ones."""
    model = constant_gradient_model(keras.optimizers.Adam(1e-3))
    model.optimizer.build(model.trainable_variables)
    before = len(model.optimizer.variables)
    fit(model, [OneCycle(max_lr=0.01)], epochs=1)
    assert len(model.optimizer.variables) == before
    x, y = ones_data()
    model.fit(x, y, batch_size=2, epochs=1, verbose=0)  # a plain fit still works
    np.testing.assert_array_equal(np.isfinite(keras.ops.convert_to_numpy(
        model.trainable_variables[0])), True)
