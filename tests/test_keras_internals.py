"""One test per reliance on Keras internals (kerazoo/keras_internals.py), named after it: a
new Keras minor release that breaks one fails here, by name."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from kerazoo import keras_internals
from kerazoo.callbacks.optimizer_hyperparameters import HyperparameterVariable
from tests.callback_helpers import constant_gradient_model, ones_data, weight


def test_layer_flatten_layers_reaches_nested_models_and_wrapped_layers():
    inner = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="inner_dense")])
    sequence = keras.Input((4, 3))
    recurrent = keras.layers.Bidirectional(keras.layers.LSTM(2, name="wrapped_lstm"))
    model = keras.Model(sequence, [recurrent(sequence), inner(sequence[:, 0])])
    names = [layer.name for layer in keras_internals.all_layers(model)]
    assert "inner_dense" in names and any("wrapped_lstm" in name for name in names)
    assert len(names) == len(set(map(id, keras_internals.all_layers(model))))


def test_layer_tracker_unlock_and_track_variable_join_a_built_layers_state():
    layer = keras.layers.Dense(2)
    layer.build((None, 3))
    assert layer._tracker.locked
    extra = keras.Variable(0.5, trainable=False, name="extra")
    keras_internals.track_variables(layer, [extra])
    assert any(variable is extra for variable in layer.variables)
    assert layer._tracker.locked  # locked again
    keras_internals.untrack_variable(layer, extra)
    assert not any(variable is extra for variable in layer.variables)


def test_optimizer_track_variable_adds_state_made_elsewhere():
    optimizer = keras.optimizers.SGD(0.1)
    optimizer.build([keras.Variable(np.zeros(2, "float32"))])
    state = keras.random.SeedGenerator(1).state
    keras_internals.track_optimizer_variable(optimizer, state)
    assert any(variable is state for variable in optimizer.variables)


def test_optimizer_setattr_tracks_a_hyperparameter_variable_the_traced_step_reads():
    """SGD (lr 1, constant gradient -1): with momentum 0.5 two steps move w to 2.5; with the
    variable swapped in and set to 0 the retraced step moves it to 2."""
    model = constant_gradient_model(keras.optimizers.SGD(1.0, momentum=0.5))
    model.optimizer.build(model.trainable_variables)
    momentum = HyperparameterVariable(0.5, name="momentum")
    keras_internals.hold_hyperparameter_in_variable(model.optimizer, "momentum", momentum)
    assert any(variable is momentum for variable in model.optimizer.variables)
    momentum.assign(0.0)
    model.make_train_function(force=True)
    x, y = ones_data(2)
    model.fit(x, y, batch_size=1, epochs=1, verbose=0)
    assert weight(model) == pytest.approx(2.0)
    keras_internals.untrack_variable(model.optimizer, momentum)
    assert not any(variable is momentum for variable in model.optimizer.variables)


def test_trainer_compile_makes_a_new_loss_tracker_each_call():
    model = constant_gradient_model(keras.optimizers.SGD(0.1))
    first = keras_internals.compile_token(model)
    same = zip(keras_internals.compile_token(model), first, strict=True)
    assert all(now is then for now, then in same)
    model.compile(optimizer=model.optimizer, loss=model.loss)  # same optimizer, compiled again
    again = keras_internals.compile_token(model)
    assert again[0] is first[0] and again[1] is not first[1]


def test_base_optimizer_learning_rate_slot_holds_a_variable_and_takes_a_callable():
    """A callable in the slot is called when the step is traced and its value used by every
    update: SGD on a gradient of -1 moves w by 0.25 a step, not by the variable's 1."""
    model = constant_gradient_model(keras.optimizers.SGD(1.0))
    slot = keras_internals.learning_rate_slot(model.optimizer)
    assert isinstance(slot, keras.Variable)
    quarter = keras.ops.convert_to_tensor(0.25)
    keras_internals.fill_learning_rate_slot(model.optimizer, lambda: quarter)
    x, y = ones_data(4)
    model.fit(x, y, batch_size=1, epochs=1, verbose=0)
    assert weight(model) == pytest.approx(1.0)
    keras_internals.fill_learning_rate_slot(model.optimizer, slot)
    assert keras_internals.learning_rate_slot(model.optimizer) is slot


def test_base_optimizer_learning_rate_setter_assigns_to_a_callable_holder():
    """What lets `ReduceLROnPlateau` set the rate while a RateTable holds the slot."""

    class Holder:
        assigned = []

        def __call__(self):
            return keras.ops.convert_to_tensor(0.25)

        def assign(self, value):
            self.assigned.append(value)

    optimizer = keras.optimizers.SGD(1.0)
    holder = Holder()
    keras_internals.fill_learning_rate_slot(optimizer, holder)
    optimizer.learning_rate = 0.5
    assert holder.assigned == [0.5]
    assert keras_internals.learning_rate_slot(optimizer) is holder


def test_base_optimizer_iterations_variable_counts_every_batch_under_accumulation():
    """What the rate table indexes by: `steps_applied` counts batches, `iterations` updates."""
    model = constant_gradient_model(keras.optimizers.SGD(1.0, gradient_accumulation_steps=2))
    x, y = ones_data(6)
    model.fit(x, y, batch_size=1, epochs=1, verbose=0)
    assert int(keras.ops.convert_to_numpy(keras_internals.steps_applied(model.optimizer))) == 6
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == 3
    assert isinstance(keras_internals.steps_applied(model.optimizer), keras.Variable)


@pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                    reason="tensor-likeness is TensorFlow's `tf.is_tensor`")
def test_optimizer_get_config_writes_a_tensor_like_learning_rate_as_a_float():
    """What RateTable's `is_tensor_like` and `__float__` rely on: a model saved during a fit
    writes the rate as a number."""

    class TensorLike:
        is_tensor_like = True

        def __call__(self):
            return keras.ops.convert_to_tensor(0.25)

        def __float__(self):
            return 0.25

    optimizer = keras.optimizers.SGD(1.0)
    keras_internals.fill_learning_rate_slot(optimizer, TensorLike())
    assert optimizer.get_config()["learning_rate"] == 0.25


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="JAX is not installed")
def test_jax_trainer_jax_state_sync_writes_the_carried_state_back():
    script = textwrap.dedent("""
        import keras, numpy as np
        from kerazoo import keras_internals
        seen = []
        class Probe(keras.callbacks.Callback):
            def on_train_batch_begin(self, batch, logs=None):
                keras_internals.state_syncer(self.model)()
                seen.append(float(np.asarray(self.model.trainable_variables[0]).ravel()[0]))
        model = keras.Sequential([keras.Input((1,)),
                                  keras.layers.Dense(1, use_bias=False,
                                                     kernel_initializer="zeros")])
        model.compile(keras.optimizers.SGD(1.0), loss=lambda y, p: -keras.ops.mean(p))
        x = np.ones((3, 1), "float32")
        model.fit(x, x, batch_size=1, epochs=1, verbose=0, callbacks=[Probe()])
        print(callable(model.jax_state_sync), seen)
    """)
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                               timeout=300, env={**os.environ, "KERAS_BACKEND": "jax"})
    assert completed.returncode == 0, completed.stderr[-3000:]
    # Without the sync the variable would read 0 until the epoch's end.
    assert completed.stdout.strip().splitlines()[-1] == "True [0.0, 1.0, 2.0]"
