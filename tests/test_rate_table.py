"""A per-batch learning-rate schedule read inside the compiled step (TensorFlow): the same
rates, step for step, as setting it before every batch, at any steps_per_execution."""

from __future__ import annotations

import json
import zipfile

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerazoo import keras_internals
from kerazoo.callbacks import LRScheduler
from tests.callback_helpers import (
    EpochRecorder,
    Stop,
    constant_gradient_model,
    ones_data,
    raise_at,
    weight,
)

pytestmark = pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                                reason="the rate table is TensorFlow's")


class SetBeforeEveryBatch(LRScheduler):
    """The scheduler as it is on other backends: a rate assigned from Python each step."""
    in_step = False


def rising(step):
    return 0.01 * (step + 1)


def test_every_step_of_a_call_gets_its_own_rate():
    # SGD on a gradient of -1 moves w by each step's rate: after 2 epochs of 8 steps, 4 a
    # call, w is the sum of the 16 rates only if every step read its own
    model = constant_gradient_model(keras.optimizers.SGD(1.0))
    model.compile(optimizer=model.optimizer, loss=model.loss, steps_per_execution=4)
    calls, recorder = [], EpochRecorder()
    counted = keras.callbacks.LambdaCallback(
        on_train_batch_begin=lambda batch, logs: calls.append(batch))
    x, y = ones_data(8)
    model.fit(x, y, batch_size=1, epochs=2, verbose=0,
              callbacks=[LRScheduler(rising, per="batch"), recorder, counted])
    assert len(calls) == 4  # 16 steps in 4 compiled calls
    assert weight(model) == pytest.approx(sum(map(rising, range(16))), rel=1e-6)
    assert [logs["learning_rate"] for logs in recorder.logs] == pytest.approx([0.08, 0.16])


ONE_CYCLE = {"name": "one_cycle", "max_lr": 0.01}
ONE_CYCLE_MOMENTUM = {"name": "one_cycle_momentum", "base_momentum": 0.5,
                      "max_momentum": 0.95}


def train_twice(scheduler_class, steps_per_execution, optimizer, schedule, momentum=None,
                between=None):
    """Two scheduled fits of one small model (4 epochs of 8 batches each); `between` acts on
    the model between them. Returns the weights after each fit and the histories."""
    rng = np.random.default_rng(0)
    x = rng.random((256, 4), dtype="float32")
    y = x.sum(axis=1, keepdims=True)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(1)])
    model.compile(optimizer, "mse", steps_per_execution=steps_per_execution)
    weights, histories = [], []
    for fit_index in range(2):
        scheduler = scheduler_class(schedule, per="batch",
                                    momentum=momentum if fit_index == 0 else None)
        history = model.fit(x, y, batch_size=32, epochs=4, verbose=0, callbacks=[scheduler])
        weights.append([w.numpy() for w in model.weights])
        histories.append(history.history)
        if between is not None and fit_index == 0:
            between(model)
    return weights, histories


def same_run(python, table):
    (python_weights, python_histories), (table_weights, table_histories) = python, table
    for python_fit, table_fit in zip(python_weights, table_weights, strict=True):
        assert all(map(np.array_equal, python_fit, table_fit))
    assert python_histories == table_histories


COSINE = {"name": "cosine_restarts", "base_lr": 0.01, "T_0": 24}


@pytest.mark.parametrize(("optimizer", "schedule", "momentum"), [
    (lambda: keras.optimizers.Adam(0.01), COSINE, None),
    (lambda: keras.optimizers.Adam(0.01), ONE_CYCLE, ONE_CYCLE_MOMENTUM),  # beta_1 rides
    (lambda: keras.optimizers.SGD(0.01, momentum=0.9), ONE_CYCLE, ONE_CYCLE_MOMENTUM),
    (lambda: keras.optimizers.RMSprop(0.01, momentum=0.5), ONE_CYCLE, ONE_CYCLE_MOMENTUM),
    # the rate moves every batch, the update every second one
    (lambda: keras.optimizers.Adam(0.01, gradient_accumulation_steps=2), ONE_CYCLE,
     ONE_CYCLE_MOMENTUM),
    (lambda: keras.optimizers.AdamW(0.01, weight_decay=0.1), ONE_CYCLE, ONE_CYCLE_MOMENTUM),
], ids=["adam-cosine", "adam-1cycle", "sgd-1cycle", "rmsprop-1cycle", "adam-accumulating",
        "adamw-1cycle"])
def test_the_same_weights_as_values_set_before_every_step(optimizer, schedule, momentum):
    # the second fit (the rate scheduled alone) reuses the step the first one kept
    same_run(train_twice(SetBeforeEveryBatch, 1, optimizer(), schedule, momentum),
             train_twice(LRScheduler, 8, optimizer(), schedule, momentum))


def test_a_momentum_set_between_fits_reaches_the_next_fits_step():
    # the first fit's step reads a momentum variable; the second schedules the rate alone and
    # must read the optimizer's float, set by hand in between, not that variable
    def halve_beta_1(model):
        model.optimizer.beta_1 = 0.5

    python = train_twice(SetBeforeEveryBatch, 1, keras.optimizers.Adam(0.01), ONE_CYCLE,
                         ONE_CYCLE_MOMENTUM, between=halve_beta_1)
    table = train_twice(LRScheduler, 8, keras.optimizers.Adam(0.01), ONE_CYCLE,
                        ONE_CYCLE_MOMENTUM, between=halve_beta_1)
    same_run(python, table)
    unchanged = train_twice(LRScheduler, 8, keras.optimizers.Adam(0.01), ONE_CYCLE,
                            ONE_CYCLE_MOMENTUM)
    assert not np.array_equal(table[0][1][0], unchanged[0][1][0])


def test_read_from_python_the_momentum_is_the_last_steps():
    model = constant_gradient_model(keras.optimizers.Adam(0.1))
    model.compile(optimizer=model.optimizer, loss=model.loss, steps_per_execution=4)
    seen = []
    record = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(
        (float(keras.ops.convert_to_numpy(model.optimizer.beta_1)), logs["momentum"])))
    x, y = ones_data(8)
    model.fit(x, y, batch_size=1, epochs=2, verbose=0, callbacks=[
        LRScheduler(rising, per="batch", momentum=lambda step: 0.5 + 0.01 * step), record])
    assert [value for pair in seen for value in pair] == pytest.approx([0.57] * 2 + [0.65] * 2)
    assert isinstance(model.optimizer.beta_1, float)
    assert model.optimizer.beta_1 == pytest.approx(0.65)


def test_a_plateau_reduction_during_the_fit_still_composes():
    # ReduceLROnPlateau sets optimizer.learning_rate; the table passes it to the variable and
    # the next epoch's rates carry the ratio: 8 steps at 0.1, 8 at 0.1, 8 at 0.05
    model = constant_gradient_model(keras.optimizers.SGD(1.0))
    model.compile(optimizer=model.optimizer, loss=model.loss, steps_per_execution=8)
    plateau = keras.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0,
                                                min_delta=1e9)
    x, y = ones_data(8)
    model.fit(x, y, batch_size=1, epochs=3, verbose=0,
              callbacks=[LRScheduler(lambda step: 0.1, per="batch"), plateau])
    assert weight(model) == pytest.approx(8 * (0.1 + 0.1 + 0.05), rel=1e-6)


def test_between_fits_the_optimizer_holds_its_variable_and_plain_fits_read_it(tmp_path):
    model = constant_gradient_model(keras.optimizers.SGD(1.0))
    x, y = ones_data(8)
    scheduled = [keras.callbacks.ModelCheckpoint(tmp_path / "during.keras")]
    model.fit(x, y, batch_size=1, epochs=1, verbose=0,
              callbacks=[LRScheduler(rising, per="batch"), *scheduled])
    assert isinstance(keras_internals.learning_rate_slot(model.optimizer), keras.Variable)
    # a model saved during the fit keeps a plain number as its rate, the last one set
    with zipfile.ZipFile(tmp_path / "during.keras") as saved:
        config = json.loads(saved.read("config.json"))
    assert config["compile_config"]["optimizer"]["config"]["learning_rate"] == \
        pytest.approx(0.08)
    assert model.optimizer.get_config()["learning_rate"] == pytest.approx(0.08)
    model.optimizer.learning_rate = 0.5
    model.fit(x, y, batch_size=1, epochs=1, verbose=0)  # a plain fit: the variable's 0.5
    assert weight(model) == pytest.approx(sum(map(rising, range(8))) + 8 * 0.5, rel=1e-6)
    model.fit(x, y, batch_size=1, epochs=1, verbose=0,  # scheduled again, from step 0
              callbacks=[LRScheduler(rising, per="batch")])
    assert weight(model) == pytest.approx(2 * sum(map(rising, range(8))) + 4, rel=1e-6)


def fit_that_raises(model, x, y, hook, at):
    """A scheduled fit (rising rates, 2 epochs) that raises when `hook` reaches index `at`."""
    with pytest.raises(Stop):
        model.fit(x, y, batch_size=1, epochs=2, verbose=0, callbacks=[
            LRScheduler(rising, per="batch"), raise_at(at, hook)])


def interrupted_at_fourth_step(model, x, y):
    fit_that_raises(model, x, y, "on_train_batch_begin", 3)


def test_a_fit_that_raised_leaves_nothing_the_next_scheduled_fit_trips_on():
    # Keras calls no hook when a fit raises, so the table stays in the slot until the next
    # scheduled fit takes it out
    model = constant_gradient_model(keras.optimizers.SGD(1.0))
    x, y = ones_data(8)
    fit_that_raises(model, x, y, "on_epoch_begin", 1)  # after the first epoch's 8 steps
    model.fit(x, y, batch_size=1, epochs=1, verbose=0,
              callbacks=[LRScheduler(rising, per="batch")])
    assert weight(model) == pytest.approx(2 * sum(map(rising, range(8))), rel=1e-6)
    assert isinstance(keras_internals.learning_rate_slot(model.optimizer), keras.Variable)


def test_after_a_fit_that_raised_a_rate_set_by_hand_rules_at_once():
    model = constant_gradient_model(keras.optimizers.SGD(1.0))
    x, y = ones_data(8)
    interrupted_at_fourth_step(model, x, y)
    model.optimizer.learning_rate = 0.5
    model.fit(x, y, batch_size=1, epochs=1, verbose=0)
    assert weight(model) == pytest.approx(sum(map(rising, range(3))) + 8 * 0.5, rel=1e-6)


def test_after_a_fit_that_raised_a_plain_fit_reads_the_epochs_rest_then_the_variable():
    # the documented limit: steps 3 to 7 of the loaded epoch, then its last rate, 0.08, which
    # the variable took at the epoch's start
    model = constant_gradient_model(keras.optimizers.SGD(1.0))
    x, y = ones_data(8)
    interrupted_at_fourth_step(model, x, y)
    model.fit(x, y, batch_size=1, epochs=1, verbose=0)
    assert weight(model) == pytest.approx(sum(map(rising, range(8))) + 3 * 0.08, rel=1e-6)


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_only_loss_scaling_keeps_the_rate_out_of_the_step(policy):
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    finally:
        keras.config.set_dtype_policy(previous)
    scheduler = LRScheduler(rising, per="batch")
    scheduler.set_model(model)
    assert scheduler.in_step == (policy != "mixed_float16")


def test_a_loss_scale_optimizer_given_to_compile_keeps_the_rate_out_of_the_step():
    # its skipped steps are not counted either, whatever the dtype policy
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(0.01)), "mse")
    scheduler = LRScheduler(rising, per="batch")
    scheduler.set_model(model)
    assert not scheduler.in_step


@pytest.mark.filterwarnings("ignore:Your input ran out of data")
def test_with_several_steps_a_call_and_no_table_a_warning_says_values_move_once_a_call():
    model = constant_gradient_model(keras.optimizers.SGD(1.0))
    model.compile(optimizer=model.optimizer, loss=model.loss, steps_per_execution=4)
    x, y = ones_data(8)
    unsized = tf.data.Dataset.from_tensor_slices((x, y)).filter(lambda *_: True).batch(1)
    with pytest.warns(UserWarning, match="change once a call"):
        model.fit(unsized, epochs=1, verbose=0, shuffle=False,
                  callbacks=[LRScheduler(rising, per="batch")])
