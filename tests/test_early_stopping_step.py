"""Test metrics are logged at the last epoch trained, which early stopping can bring forward
from train.epochs."""

from __future__ import annotations

from kerazoo.config.recipe import load_recipe
from kerazoo.training.runner import run_recipe


def test_test_metrics_sit_at_the_last_trained_epoch(tracking_uri, client):
    # A loss that must fall by 100 to count as progress never does: training stops at the
    # second of 40 epochs.
    recipe = load_recipe("mlp_digits", [
        "train.epochs=40",
        "callbacks=[{name: early_stopping, monitor: loss, min_delta: 100, patience: 1}]",
    ], smoke=True)
    result = run_recipe(recipe, tracking_uri=tracking_uri, verbose=0)
    assert [step for step, _ in _history(client, result.run_id, "loss")] == [1, 2]
    assert [step for step, _ in _history(client, result.run_id, "test_accuracy")] == [2]


def _history(client, run_id: str, key: str) -> list[tuple[int, float]]:
    return sorted((metric.step, metric.value) for metric in client.get_metric_history(run_id, key))
