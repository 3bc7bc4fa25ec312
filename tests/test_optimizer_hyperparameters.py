"""HyperparameterVariable behaves like the Keras variable it is: compared by its current
value, hashed by identity."""

from __future__ import annotations

from kerazoo.callbacks.optimizer_hyperparameters import HyperparameterVariable


def test_comparisons_follow_the_assigned_value():
    momentum = HyperparameterVariable(0.9, name="momentum")
    assert momentum == 0.9
    momentum.assign(0.5)
    assert not momentum == 0.9
    assert momentum != 0.9 and momentum == 0.5 and momentum < 0.9 and momentum >= 0.5


def test_hashed_by_identity_so_it_can_be_a_dict_key():
    first, second = HyperparameterVariable(0.9, "a"), HyperparameterVariable(0.9, "b")
    assert hash(first) == hash(first) and hash(first) != hash(second)
    assert {first: 1, second: 2}[second] == 2
