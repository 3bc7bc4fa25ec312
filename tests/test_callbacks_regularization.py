"""Regularization that changes during training, observed inside compiled `fit`: the fraction
of zeroed activations, the penalty in the loss, and the decay of the weights."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from kerazoo.callbacks import DropoutScheduler, RegularizationScheduler, WeightDecayScheduler
from kerazoo.errors import KerazooError
from kerazoo.layers import ScheduledDropout
from kerazoo.regularizers import ScheduledL1L2
from tests.callback_helpers import EpochRecorder, Stop, raise_at, zero_loss

WIDTH = 256


def zeroed_fraction(y_true, y_pred):
    return keras.ops.mean(keras.ops.cast(keras.ops.equal(y_pred, 0.0), "float32"))


def dropout_probe(rate: float = 0.0) -> keras.Model:
    """Ones -> ScheduledDropout -> identity Dense (never updated: learning rate 0), so the
    training-mode predictions are the dropout output and a metric can count its zeros."""
    inputs = keras.Input(shape=(WIDTH,))
    dropped = ScheduledDropout(rate, seed=3, name="scheduled_dropout")(inputs)
    outputs = keras.layers.Dense(WIDTH, use_bias=False, kernel_initializer="identity")(dropped)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss=zero_loss,
                  metrics=[zeroed_fraction])
    return model


def test_dropout_rate_follows_the_schedule_inside_fit():
    model = dropout_probe()
    rates = [0.0, 0.25, 0.5, 0.75]
    x = np.ones((64, WIDTH), "float32")
    recorder = EpochRecorder()
    model.fit(x, x, batch_size=16, epochs=4, verbose=0,
              callbacks=[DropoutScheduler(lambda epoch: rates[epoch]), recorder])
    measured = [logs["zeroed_fraction"] for logs in recorder.logs]
    # 16 384 Bernoulli draws per epoch: the standard error is under 0.004
    assert measured == pytest.approx(rates, abs=0.02)
    assert [logs["dropout_rate"] for logs in recorder.logs] == pytest.approx(rates)
    # inference is untouched by the rate
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(x[:2], training=False)),
                               x[:2])


def test_dropout_per_batch_curriculum_from_a_spec():
    model = dropout_probe()
    recorder = EpochRecorder()
    x = np.ones((64, WIDTH), "float32")
    ramp = {"name": "warmup", "base_lr": 0.6, "total_iters": 4, "start_factor": 0.0}
    model.fit(x, x, batch_size=16, epochs=2, verbose=0,
              callbacks=[DropoutScheduler(ramp, per="batch"), recorder])
    # batches 0..3 then 4..7: rates 0, .15, .3, .45, then .6 four times
    assert [logs["zeroed_fraction"] for logs in recorder.logs] == pytest.approx(
        [np.mean([0, 0.15, 0.3, 0.45]), 0.6], abs=0.02)
    assert recorder.logs[-1]["dropout_rate"] == pytest.approx(0.6)


def test_dropout_scheduler_without_scheduled_dropout_is_a_clear_error():
    inputs = keras.Input(shape=(4,))
    model = keras.Model(inputs, keras.layers.Dropout(0.5)(keras.layers.Dense(2)(inputs)))
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(KerazooError, match="no ScheduledDropout layer.*keras.layers.Dropout"):
        model.fit(np.ones((4, 4)), np.ones((4, 2)), epochs=1, verbose=0,
                  callbacks=[DropoutScheduler(lambda epoch: 0.1)])


def frozen_regularized_model(regularizer) -> keras.Model:
    """Four weights of 1 (SGD with rate 0 keeps them) and a zero data loss, so the training
    loss is exactly the penalty: 4 * l1 + 4 * l2."""
    inputs = keras.Input(shape=(4,))
    outputs = keras.layers.Dense(1, use_bias=False, kernel_initializer="ones",
                                 kernel_regularizer=regularizer)(inputs)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss=zero_loss)
    return model


def test_penalty_follows_the_schedule_inside_fit():
    regularizer = ScheduledL1L2(l1=0.01, l2=0.0)
    model = frozen_regularized_model(regularizer)
    strengths = [0.0, 0.1, 0.2]
    recorder = EpochRecorder()
    model.fit(np.ones((8, 4)), np.zeros((8, 1)), batch_size=4, epochs=3, verbose=0,
              callbacks=[RegularizationScheduler(l2=lambda epoch: strengths[epoch]), recorder])
    assert [logs["loss"] for logs in recorder.logs] == pytest.approx(
        [4 * 0.01 + 4 * l2 for l2 in strengths], rel=1e-5)
    assert [logs["l2"] for logs in recorder.logs] == pytest.approx(strengths)
    assert "l1" not in recorder.logs[0]  # not scheduled, not reported
    # afterwards: the model's variables are its own again, the strength stays where it went
    assert len(model.non_trainable_variables) == 0
    assert regularizer.get_config() == pytest.approx({"l1": 0.01, "l2": 0.2})


def test_a_scheduler_reused_after_a_fit_that_raised_leaves_the_model_its_variables():
    # Keras calls no hook when a fit raises: the next fit of the same callback undoes first
    # what the raised one set up (on JAX the strengths had joined the model's state)
    model = frozen_regularized_model(ScheduledL1L2(l1=0.01, l2=0.0))
    scheduler = RegularizationScheduler(l2=lambda epoch: 0.1 * epoch)
    x, y = np.ones((8, 4)), np.zeros((8, 1))
    with pytest.raises(Stop):
        model.fit(x, y, batch_size=4, epochs=3, verbose=0, callbacks=[scheduler, raise_at(1)])
    model.fit(x, y, batch_size=4, epochs=3, verbose=0, callbacks=[scheduler])
    assert len(model.non_trainable_variables) == 0


def test_regularization_scheduler_without_scheduled_l1l2_is_a_clear_error():
    model = frozen_regularized_model(keras.regularizers.L2(0.1))
    with pytest.raises(KerazooError, match="no ScheduledL1L2 regularizer"):
        model.fit(np.ones((4, 4)), np.zeros((4, 1)), epochs=1, verbose=0,
                  callbacks=[RegularizationScheduler(l2=lambda epoch: 0.1)])
    with pytest.raises(KerazooError, match="needs a schedule for `l1` or `l2`"):
        RegularizationScheduler()


def test_weight_decay_follows_the_schedule_inside_fit():
    """Zero data loss and learning rate 1: each step multiplies w by (1 - weight decay)."""
    inputs = keras.Input(shape=(1,))
    outputs = keras.layers.Dense(1, use_bias=False, kernel_initializer="ones")(inputs)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.SGD(1.0), loss=zero_loss)  # no weight decay
    decays = [0.0, 0.1, 0.2]
    recorder = EpochRecorder()
    model.fit(np.ones((4, 1)), np.zeros((4, 1)), batch_size=2, epochs=3, verbose=0,
              callbacks=[WeightDecayScheduler(lambda epoch: decays[epoch]), recorder])
    kept = [float(w[0].ravel()[0]) for w in recorder.weights]
    assert kept == pytest.approx([1.0, 0.9**2, 0.9**2 * 0.8**2], rel=1e-5)
    assert [logs["weight_decay"] for logs in recorder.logs] == pytest.approx(decays)
    assert model.optimizer.weight_decay == pytest.approx(0.2)


def test_scheduled_layer_and_regularizer_save_and_load(tmp_path):
    regularizer = ScheduledL1L2(l2=0.001)
    inputs = keras.Input(shape=(4,))
    hidden = keras.layers.Dense(8, kernel_regularizer=regularizer)(inputs)
    outputs = ScheduledDropout(0.1, name="scheduled_dropout")(hidden)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.ones((8, 4)), np.ones((8, 8)), epochs=2, verbose=0,
              callbacks=[DropoutScheduler(lambda epoch: 0.3),
                         RegularizationScheduler(l2=lambda epoch: 0.05)])
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    dropout = loaded.get_layer("scheduled_dropout")
    assert float(keras.ops.convert_to_numpy(dropout.rate)) == pytest.approx(0.3)
    assert loaded.layers[1].kernel_regularizer.get_config() == pytest.approx(
        {"l1": 0.0, "l2": 0.05})
    x = np.random.default_rng(0).normal(size=(3, 4)).astype("float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(x)),
                               keras.ops.convert_to_numpy(model(x)), rtol=1e-6)


def test_configs_round_trip():
    layer = ScheduledDropout(0.2, noise_shape=(None, 1), seed=7, name="drop")
    assert ScheduledDropout.from_config(layer.get_config()).get_config() == layer.get_config()
    assert layer.get_config()["rate"] == pytest.approx(0.2)
    regularizer = ScheduledL1L2(l1=0.1, l2=0.2)
    assert ScheduledL1L2.from_config(regularizer.get_config()).get_config() == \
        regularizer.get_config()
    with pytest.raises(KerazooError, match=r"`rate` must be a number in \[0, 1\)"):
        ScheduledDropout(1.0)
    with pytest.raises(KerazooError, match="`l2` must be a non-negative number"):
        ScheduledL1L2(l2=-1)
