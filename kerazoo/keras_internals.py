"""Every reliance of kerazoo on Keras internals, in one place.

Keras 3 has no public API for these; each function below names the private attribute or the
undocumented behaviour it uses, and tests/test_keras_internals.py has one test per reliance,
named after it. When a new Keras minor release comes out, this file and that test file are
what to check (pyproject pins keras below the next untested minor release).

Replaced by public API elsewhere (and so not here): the training-state backup saves through
`BackupAndRestore.on_epoch_end` instead of its private `_save_model` and epoch fields; the
gradient-noise optimizer lists its variables through `Optimizer.variables`.
"""

from __future__ import annotations

from collections.abc import Callable

import keras


def all_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """Every layer inside `model`, nested models and layers held by layers (a Bidirectional's
    RNNs, an RNN's cell) included, once each.

    Reliance: `Layer._flatten_layers(include_self, recursive)`. `Model.layers` is public but
    only lists the top level."""
    return list(model._flatten_layers(include_self=False, recursive=True))


def track_variables(owner, variables: list[keras.Variable]) -> None:
    """Make existing variables part of `owner`'s (a layer's, model's or optimizer's) state,
    so that JAX's pure training step carries them.

    Reliance: `Layer._tracker` (`locked`, `lock()`, `unlock()`: a built layer refuses new
    variables) and `_track_variable(variable)`; Keras itself unlocks the same way when it
    untracks a variable."""
    tracker = owner._tracker
    was_locked = tracker.locked
    tracker.unlock()
    try:
        for variable in variables:
            owner._track_variable(variable)
    finally:
        if was_locked:
            tracker.lock()


def untrack_variable(owner, variable: keras.Variable) -> None:
    """Undo `track_variables` (or an optimizer's tracking of an attribute).

    Reliance: `Layer._untrack_variable` / `Optimizer._untrack_variable`."""
    owner._untrack_variable(variable)


def track_optimizer_variable(optimizer: keras.optimizers.Optimizer,
                             variable: keras.Variable) -> None:
    """Add a variable created elsewhere (a seed generator's state) to an optimizer's state.

    Reliance: `Optimizer._track_variable` (`add_variable` only creates new variables)."""
    optimizer._track_variable(variable)


def state_syncer(model: keras.Model) -> Callable[[], object]:
    """What writes the state a JAX `fit` carries between steps back into the variables
    (a no-op on other backends).

    Reliance: `JAXTrainer.jax_state_sync()`, an undocumented method of Keras' JAX trainer."""
    state_sync = getattr(model, "jax_state_sync", None)
    return state_sync if state_sync is not None else (lambda: None)


def hold_hyperparameter_in_variable(optimizer: keras.optimizers.Optimizer, name: str,
                                    variable: keras.Variable) -> None:
    """Put `variable` in place of the float hyperparameter `name` (momentum, beta_1,
    weight_decay) of a built optimizer.

    Reliance, two undocumented behaviours: assigning a `keras.Variable` to an optimizer
    attribute tracks it as optimizer state (`Optimizer.__setattr__`), and `update_step`
    reads the attribute each time the step is traced (so a retrace reads the variable)."""
    setattr(optimizer, name, variable)


def compile_token(model: keras.Model) -> tuple:
    """Objects each `compile` of `model` makes anew: the same objects (by identity) mean it
    was not compiled again in between.

    Reliance: `Trainer.compile` sets a new `_loss_tracker` metric on every call (and the
    optimizer it is given)."""
    return (model.optimizer, model._loss_tracker)


def learning_rate_slot(optimizer: keras.optimizers.Optimizer):
    """What the optimizer computes its learning rate from: a variable, a schedule or a
    callable (`optimizer.learning_rate` answers with the value, not the holder).

    Reliance: `BaseOptimizer._learning_rate`."""
    return optimizer._learning_rate


def steps_applied(optimizer: keras.optimizers.Optimizer) -> keras.Variable:
    """The variable counting the optimizer's `apply` calls, one a training step. With
    `gradient_accumulation_steps`, `optimizer.iterations` is a tensor computed from it that
    counts updates instead, and learning-rate schedules still move every batch.

    Reliance: `BaseOptimizer._iterations`."""
    return optimizer._iterations


def fill_learning_rate_slot(optimizer: keras.optimizers.Optimizer, holder) -> None:
    """Put `holder` (the optimizer's variable, or a callable standing in for it) in the
    learning-rate slot without the setter, which would assign a number to the variable.

    Reliance: `BaseOptimizer._learning_rate`, and that `_get_current_learning_rate` calls a
    callable holder with no argument each time the step is traced; that `get_config` writes
    a holder that is tensor-like to TensorFlow (`is_tensor_like`) as `float(holder)`; that
    the `learning_rate` setter passes a number to `holder.assign`."""
    optimizer._learning_rate = holder
