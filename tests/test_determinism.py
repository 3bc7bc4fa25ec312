"""The same recipe and seed give identical metrics on CPU, and the run says so."""

from __future__ import annotations

import keras
import pytest

from kerazoo.config.recipe import load_recipe
from kerazoo.training.runner import run_recipe

RECIPES = ["mlp_digits", "char_rnn"]


@pytest.mark.parametrize("name", RECIPES)
def test_same_seed_same_metrics(name, client):
    first = run_recipe(load_recipe(name, ["train.epochs=2"], smoke=True), verbose=0)
    second = run_recipe(load_recipe(name, ["train.epochs=2"], smoke=True), verbose=0)
    assert first.metrics == second.metrics
    assert first.history == second.history
    tags = client.get_run(first.run_id).data.tags
    assert tags["kerazoo.seed"] == str(load_recipe(name).seed)
    assert tags["kerazoo.deterministic_ops"] in ("true", "false")


@pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                    reason="deterministic ops are TensorFlow's setting")
def test_deterministic_false_turns_deterministic_ops_off_again():
    """A process that ran a deterministic recipe (a sweep, a lesson) can run one without."""
    from tensorflow.python.framework import config

    load = ["train.epochs=1"]
    run_recipe(load_recipe("mlp_digits", load, smoke=True), verbose=0)
    assert config.is_op_determinism_enabled()
    try:
        result = run_recipe(load_recipe("mlp_digits", load + ["train.deterministic=false"],
                                        smoke=True), verbose=0)
        assert not config.is_op_determinism_enabled()
        assert result.history["loss"]
    finally:  # later tests in this process expect what the recipes default to
        config.enable_op_determinism()


def test_another_seed_gives_other_metrics():
    first = run_recipe(load_recipe("mlp_digits", ["train.epochs=2"], smoke=True), verbose=0)
    other = run_recipe(load_recipe("mlp_digits", ["train.epochs=2", "seed=7"], smoke=True),
                       verbose=0)
    assert first.history["loss"] != other.history["loss"]
