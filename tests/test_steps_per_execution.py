"""train.steps_per_execution never makes Keras run past an epoch's end."""

from __future__ import annotations

import keras
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
