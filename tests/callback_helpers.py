"""Tiny real models whose training outcome has a closed form, for the callback tests.

`constant_gradient_model`: one weight w (from 0) times an input of ones, trained on the loss
-mean(prediction), so the gradient is exactly -1 at every step: plain SGD then moves w by
the learning rate of each step, and the final w reveals which rates the compiled step used.
"""

from __future__ import annotations

import keras
import numpy as np

from kerazoo.callbacks import fit_state


def negative_output(y_true, y_pred):
    return -keras.ops.mean(y_pred, axis=-1)


def zero_loss(y_true, y_pred):
    return keras.ops.mean(y_pred, axis=-1) * 0.0


def constant_gradient_model(optimizer, units: int = 1) -> keras.Model:
    inputs = keras.Input(shape=(1,))
    outputs = keras.layers.Dense(units, use_bias=False, kernel_initializer="zeros")(inputs)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=optimizer, loss=negative_output)
    return model


def ones_data(samples: int = 8):
    return np.ones((samples, 1), "float32"), np.zeros((samples, 1), "float32")


def weight(model: keras.Model) -> float:
    return float(keras.ops.convert_to_numpy(model.trainable_variables[0]).ravel()[0])


class Stop(Exception):
    """Raised by `raise_at`: a fit interrupted the way Keras calls no hook for."""


def raise_at(index: int, hook: str = "on_train_batch_begin") -> keras.callbacks.Callback:
    """A callback that raises `Stop` when `hook` (a batch or epoch hook) reaches `index`."""
    def stop(at, logs):
        if at == index:
            raise Stop
    return keras.callbacks.LambdaCallback(**{hook: stop})


class EpochRecorder(keras.callbacks.Callback):
    """Keeps each epoch's logs and trainable weights (as NumPy) for assertions."""

    def __init__(self):
        super().__init__()
        self.logs: list[dict] = []
        self.weights: list[list[np.ndarray]] = []

    def on_epoch_end(self, epoch, logs=None):
        self.logs.append(dict(logs or {}))
        self.weights.append([keras.ops.convert_to_numpy(v)
                             for v in self.model.trainable_variables])


class BatchRecorder(keras.callbacks.Callback):
    """The model's first weight after every batch (syncing JAX's carried state to read it)."""

    def __init__(self):
        super().__init__()
        self.weights: list[float] = []

    def on_train_batch_end(self, batch, logs=None):
        fit_state.sync(self.model)
        self.weights.append(weight(self.model))
