"""Callbacks named in recipes: real recipe runs into a real store, values read back through
MlflowClient; the `learning_rate: auto` path and `kerazoo lr-find`."""

from __future__ import annotations

import pytest

from kerazoo import schedules
from kerazoo.config.recipe import load_recipe
from kerazoo.errors import KerazooError
from kerazoo.training.runner import prepare, run_recipe
from tests.conftest import run_cli

SMOKE_STEPS = 8  # 256 smoke training images in batches of 32


def history(client, run_id: str, key: str) -> list[float]:
    points = sorted(client.get_metric_history(run_id, key), key=lambda metric: metric.step)
    assert [point.step for point in points] == list(range(1, len(points) + 1))
    return [point.value for point in points]


def test_one_cycle_recipe_logs_learning_rate_and_momentum(client):
    recipe = load_recipe("mlp_onecycle", ["train.epochs=2"], smoke=True)
    result = run_recipe(recipe, smoke=True, verbose=0)
    total = 2 * SMOKE_STEPS
    last_steps = [SMOKE_STEPS - 1, total - 1]
    assert history(client, result.run_id, "learning_rate") == pytest.approx(
        [schedules.one_cycle(step, total, 0.01) for step in last_steps], rel=1e-6)
    assert history(client, result.run_id, "momentum") == pytest.approx(
        [schedules.one_cycle_momentum(step, total) for step in last_steps], rel=1e-6)


def test_scheduler_values_reach_the_metric_history(client):
    callbacks = ("callbacks=[{name: lr_scheduler, per: epoch, schedule: {name: step_decay, "
                 "base_lr: 0.01, step_size: 1, gamma: 0.5}}, {name: weight_decay_scheduler, "
                 "schedule: {name: warmup, base_lr: 0.001, total_iters: 2, start_factor: 0}}]")
    recipe = load_recipe("mlp_digits", ["train.epochs=3", callbacks], smoke=True)
    result = run_recipe(recipe, smoke=True, verbose=0)
    assert history(client, result.run_id, "learning_rate") == pytest.approx(
        [0.01, 0.005, 0.0025])
    assert history(client, result.run_id, "weight_decay") == pytest.approx(
        [0.0, 0.0005, 0.001])


@pytest.mark.parametrize("callbacks, message", [
    ("[{name: one_cycle, max_lr: 0.01, pct: 0.3}]",
     "callbacks.0: callback 'one_cycle' has no argument 'pct'"),
    ("[{name: lr_scheduler, schedule: {name: cosine, base_lr: 0.1}}]",
     "callbacks.0: unknown schedule 'cosine'"),
    ("[{name: lr_scheduler, schedule: {name: cyclic, base_lr: 0.1, max_lr: 0.01}}]",
     "callbacks.0: `max_lr` must be a number >= base_lr"),
])
def test_callback_mistakes_in_recipes_fail_before_training(callbacks, message):
    with pytest.raises(KerazooError) as raised:
        prepare(load_recipe("mlp_digits", [f"callbacks={callbacks}"], smoke=True), smoke=True)
    assert message in str(raised.value)


def test_auto_learning_rate_runs_the_finder_and_logs_it(client):
    recipe = load_recipe("mlp_digits", ["train.learning_rate=auto", "train.epochs=1"],
                         smoke=True)
    result = run_recipe(recipe, smoke=True, verbose=0)
    run = client.get_run(result.run_id)
    suggestion = float(run.data.params["lr_finder.suggestion"])
    assert 1e-5 < suggestion < 1.0
    assert history(client, result.run_id, "learning_rate") == pytest.approx([suggestion],
                                                                            rel=1e-6)
    assert "plots/lr_finder.png" in [item.path
                                     for item in client.list_artifacts(result.run_id, "plots")]


def test_lr_find_command_prints_the_suggestion(tmp_path):
    completed = run_cli("lr-find", "mlp_digits", "--smoke", "--plot", "curve.png")
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.startswith("suggested learning rate for mlp_digits: ")
    assert (tmp_path / "curve.png").stat().st_size > 5000


@pytest.mark.slow
def test_interrupted_one_cycle_run_resumes_exactly(client, tmp_path):
    """The momentum a schedule swaps into the optimizer is part of the saved training state,
    so a resumed 1cycle run ends where an uninterrupted one does."""
    import signal

    from tests.test_resume import final_metrics, interrupt_after, start

    recipe = ["mlp_onecycle", "--set", "train.epochs=30"]  # 3 s: time to interrupt it
    reference_process = start(*recipe)
    output = reference_process.communicate(timeout=300)
    assert reference_process.returncode == 0, output
    (reference,) = client.search_runs([client.get_experiment_by_name("digits").experiment_id])
    interrupted, run_dir = interrupt_after(recipe, 3, signal.SIGTERM, tmp_path)
    assert interrupted.returncode == 130
    run_id = run_dir.name
    resumed = start(*recipe, "--resume", run_id)
    output = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, output
    assert final_metrics(run_id) == final_metrics(reference.info.run_id)
    for key in ("learning_rate", "momentum", "val_loss"):
        assert history(client, run_id, key) == history(client, reference.info.run_id, key)


def test_a_schedulable_mlp_recipe_takes_dropout_and_l2_schedules(client):
    """`model.schedulable: true` is what lets recipes schedule the mlp's dropout and L2."""
    callbacks = ("callbacks=[{name: dropout_scheduler, schedule: {name: warmup, base_lr: 0.4, "
                 "total_iters: 2, start_factor: 0}}, {name: regularization_scheduler, "
                 "l2: {name: step_decay, base_lr: 0.001, step_size: 1, gamma: 0.1}}]")
    recipe = load_recipe("mlp_digits", ["train.epochs=3", "model.schedulable=true", callbacks],
                         smoke=True)
    result = run_recipe(recipe, smoke=True, verbose=0)
    assert history(client, result.run_id, "dropout_rate") == pytest.approx(
        [schedules.warmup(epoch, 0.4, total_iters=2, start_factor=0) for epoch in range(3)])
    assert history(client, result.run_id, "l2") == pytest.approx(
        [schedules.step_decay(epoch, 0.001, step_size=1, gamma=0.1) for epoch in range(3)])
