"""The portable copy a run logs: Keras' own objects in place of kerazoo's, the same outputs.

The recipes' models (Corruption, RepeatAlongSteps) are checked end to end in a process
without kerazoo by tests/test_recipes_smoke.py; these cover the objects no recipe uses."""

from __future__ import annotations

import importlib.metadata

import keras
import mlflow
import numpy as np
import pytest
import yaml

import kerazoo
from kerazoo.models.portable import modules_needed, portable_copy
from kerazoo.registry import build
from kerazoo.tracking.runs import TrackedRun


def test_scheduled_dropout_and_penalties_become_keras_ones_at_their_current_values():
    model = build("mlp", input_shape=(5,), units=[8, 8], num_classes=3, schedulable=True,
                  dropout=0.1, l1=0.01, l2=0.02)
    model.get_layer("dropout_0").rate.assign(0.3)  # as the dropout scheduler would
    model.get_layer("dense_0").kernel_regularizer.l2.assign(0.05)
    rows = np.random.default_rng(0).random((4, 5), dtype="float32")

    copy = portable_copy(model, rows)

    assert modules_needed(model) and modules_needed(copy) == []
    dropout = copy.get_layer("dropout_0")
    assert type(dropout) is keras.layers.Dropout and dropout.rate == pytest.approx(0.3)
    penalty = copy.get_layer("dense_1").kernel_regularizer
    assert type(penalty) is keras.regularizers.L1L2
    assert (penalty.l1, penalty.l2) == pytest.approx((0.01, 0.05))
    np.testing.assert_array_equal(copy(rows), model(rows))


def test_a_model_of_keras_layers_only_is_logged_as_it_is():
    model = build("mlp", input_shape=(5,), units=[4], num_classes=3)
    assert portable_copy(model, np.zeros((2, 5), "float32")) is model


def test_a_layer_without_keras_equivalent_stays_and_its_package_is_required(tracking_uri):
    model = build("alexnet", input_shape=(16, 16, 3), num_classes=3, width_multiplier=0.05)
    rows = np.random.default_rng(0).random((2, 16, 16, 3), dtype="float32")
    assert modules_needed(portable_copy(model, rows)) == ["kerazoo.models.layers"]

    with TrackedRun("portable", "alexnet_lrn") as run:
        run.log_keras_model(model, rows, name="alexnet_lrn", class_names=["a", "b", "c"])
    folder = mlflow.artifacts.download_artifacts(f"runs:/{run.run_id}/alexnet_lrn")
    requirements = open(f"{folder}/requirements.txt").read().split()
    assert f"kerazoo=={importlib.metadata.version('kerazoo')}" in requirements
    assert kerazoo.__version__ == importlib.metadata.version("kerazoo")
    metadata = yaml.safe_load(open(f"{folder}/MLmodel"))["metadata"]
    assert metadata == {"keras_modules": ["kerazoo.models.layers"],
                        "class_names": ["a", "b", "c"]}
