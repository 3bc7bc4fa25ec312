"""train.steps_per_execution never makes Keras run past an epoch's end."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from kerazoo.config.recipe import load_recipe
from kerazoo.data import pipeline
from kerazoo.training.runner import fit, prepare, whole_executions


@pytest.mark.parametrize(("requested", "steps", "expected"),
                         [(1, 7, 1), (4, 8, 4), (4, 5, 1), (16, 36, 12), (16, 10, 10),
                          (6, 9, 3)])
def test_the_count_divides_an_epoch(requested, steps, expected):
    assert whole_executions(requested, steps) == expected


def test_each_epoch_trains_its_own_steps_and_every_epoch_runs():
    recipe = load_recipe("mlp_digits", ["train.epochs=3", "train.steps_per_execution=16"],
                         smoke=True)
    prepared = prepare(recipe, smoke=True)
    steps = pipeline.steps_per_epoch(prepared.data.train, recipe.train.batch_size)
    assert steps % 16 != 0  # the case Keras gets wrong: it would run 16 a call regardless
    at_epoch_ends = []
    count = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: at_epoch_ends.append(
        int(prepared.model.optimizer.iterations)))
    fit(prepared, [count], verbose=0)
    assert at_epoch_ends == [steps, 2 * steps, 3 * steps]
    assert steps % prepared.model.steps_per_execution == 0


def test_the_learning_rate_finder_still_steps_one_batch_at_a_time():
    # The finder sets the rate before every step: at 16 a call it would set it once a call.
    plain = prepare(load_recipe("mlp_digits", ["train.learning_rate=auto"], smoke=True),
                    smoke=True).lr_finder
    batched = prepare(load_recipe("mlp_digits", ["train.learning_rate=auto",
                                                 "train.steps_per_execution=16"], smoke=True),
                      smoke=True).lr_finder
    assert 1e-5 < batched.suggestion < 1.0
    assert batched.suggestion == pytest.approx(plain.suggestion, rel=1e-6)


def test_1cycle_sets_every_steps_rate_and_momentum_at_any_count():
    # Keras calls batch hooks once a call: set from Python, 1cycle at 16 a call would move
    # in stairs. On TensorFlow the step reads both from a table (16 a call); elsewhere the
    # count is held at 1. Either way, the run equals one at one step a call.
    def train(count):
        recipe = load_recipe("mlp_onecycle", ["train.epochs=2",
                                              f"train.steps_per_execution={count}"], smoke=True)
        prepared = prepare(recipe, smoke=True)
        history = fit(prepared, [], verbose=0).history
        return prepared, [w.numpy() for w in prepared.model.weights], history

    batched, batched_weights, batched_history = train(16)
    _, one_weights, one_history = train(1)
    assert (batched.model.steps_per_execution > 1) == (keras.backend.backend() == "tensorflow")
    assert all(map(np.array_equal, batched_weights, one_weights))
    assert batched_history == one_history
    assert batched_history["momentum"][0] != batched_history["momentum"][1]


@pytest.mark.parametrize(("callback", "one_step"), [
    ({"name": "cosine_restarts", "per": "epoch"}, False),
    # on TensorFlow the optimizer reads a per-batch rate inside the step (rate_table)
    ({"name": "cosine_restarts", "per": "batch"}, keras.backend.backend() != "tensorflow"),
    ({"name": "one_cycle", "max_lr": 0.01}, keras.backend.backend() != "tensorflow"),
    ({"name": "early_stopping", "patience": 2}, False),
    ({"name": "terminate_on_nan"}, True),  # a batch hook of its own
])
def test_only_callbacks_that_act_on_batches_hold_the_count_at_one(callback, one_step):
    overrides = ["train.steps_per_execution=16", f"callbacks=[{callback}]"]
    prepared = prepare(load_recipe("mlp_digits", overrides, smoke=True), smoke=True)
    assert (prepared.model.steps_per_execution == 1) == one_step


def test_under_loss_scaling_a_per_batch_rate_keeps_one_step_a_call():
    # mixed_float16 skips overflowing steps without counting them: the rate is set per batch
    overrides = ["train.steps_per_execution=16", "train.precision=mixed_float16",
                 "callbacks=[{name: cosine_restarts, per: batch}]"]
    prepared = prepare(load_recipe("mlp_digits", overrides, smoke=True), smoke=True)
    assert prepared.model.steps_per_execution == 1


def test_epoch_runs_each_epoch_in_one_call_and_follows_the_data_size():
    for smoke, overrides in [(True, []), (False, ["data.test_fraction=0.5"])]:
        recipe = load_recipe("mlp_digits", ["train.steps_per_execution=epoch", *overrides],
                             smoke=smoke)
        prepared = prepare(recipe, smoke=smoke)
        steps = pipeline.steps_per_epoch(prepared.data.train, recipe.train.batch_size)
        assert prepared.model.steps_per_execution == steps


def test_a_batch_callback_given_to_fit_is_compiled_for_too():
    recipe = load_recipe("mlp_digits", ["train.epochs=2"], smoke=True)  # epoch a call
    seen = []
    every_batch = keras.callbacks.LambdaCallback(
        on_train_batch_begin=lambda batch, logs: seen.append(batch))
    prepared = prepare(recipe, smoke=True, extra_callbacks=[every_batch])
    fit(prepared, [every_batch], verbose=0)
    steps = pipeline.steps_per_epoch(prepared.data.train, recipe.train.batch_size)
    assert prepared.model.steps_per_execution == 1
    assert seen == [*range(steps)] * 2
