"""Stochastic weight averaging (Izmailov et al. 2018)."""

from __future__ import annotations

import warnings
from typing import Any

import keras
import numpy as np

from kerazoo import arguments
from kerazoo.callbacks.model_parts import layers_of_type
from kerazoo.errors import KerazooError


class SWA(keras.callbacks.Callback):
    """Average the weights of the epochs from `start_epoch` on (every `frequency` epochs) and
    put the average in the model when training ends.

    Averaging the points SGD visits late in training, with a learning rate kept high or
    cycled (pair it with `CosineRestarts` or a constant rate), lands in a flatter region of
    the loss than any single point, and generalizes better.

    `start_epoch` counts from 1, as Keras prints epochs; by default averaging covers the last
    quarter of training (the paper trains normally for about 75% of the budget).

    Batch normalization: the moving statistics the layers hold belong to the last weights,
    not to their average, so they are re-estimated at the end with forward passes in
    training mode over `batch_norm_data` (PyTorch's `update_bn`): a NumPy array of inputs, or
    any iterable of batches (a `tf.data.Dataset`, a list) whose elements are inputs or
    (inputs, targets[, weights]) tuples. Keras does not show callbacks the training data, so
    it must be given here, or later with `set_batch_norm_data` (the recipe runner does that
    with the training split). A model with batch normalization and no data is an error at
    the start of training, not a silently wrong model at the end. Reports the number of
    weight sets averaged so far in `logs` as `swa_averaged`.
    """

    def __init__(self, start_epoch: int | None = None, frequency: int = 1,
                 batch_norm_data: Any = None, batch_size: int = 32):
        super().__init__()
        self.start_epoch = None if start_epoch is None else arguments.positive_int(
            "start_epoch", start_epoch)
        self.frequency = arguments.positive_int("frequency", frequency)
        self.batch_size = arguments.positive_int("batch_size", batch_size)
        self.batch_norm_data = batch_norm_data
        self.averaged = 0
        self._averages: list | None = None

    def set_batch_norm_data(self, data: Any) -> None:
        self.batch_norm_data = data

    def _batch_norm_layers(self) -> list:
        return layers_of_type(self.model, keras.layers.BatchNormalization)

    def on_train_begin(self, logs=None):
        epochs = self.params.get("epochs") or 1
        self._start = self.start_epoch or int(0.75 * epochs) + 1
        self.averaged = 0
        self._averages = None
        if self._batch_norm_layers() and self.batch_norm_data is None:
            raise KerazooError(
                f"SWA: model {self.model.name!r} has batch normalization, whose statistics "
                "must be re-estimated for the averaged weights; pass batch_norm_data (the "
                "training inputs) to SWA or call set_batch_norm_data before fit")

    def on_epoch_end(self, epoch, logs=None):
        number = epoch + 1
        if number >= self._start and (number - self._start) % self.frequency == 0:
            weights = self.model.trainable_variables
            if self._averages is None:
                # a copy: JAX's step donates (frees) the buffers the variables hold now
                self._averages = [keras.ops.copy(weight) for weight in weights]
            else:
                count = self.averaged + 1
                self._averages = [average + (weight - average) / count
                                  for average, weight in zip(self._averages, weights,
                                                             strict=True)]
            self.averaged += 1
        if logs is not None:
            logs["swa_averaged"] = self.averaged

    def on_train_end(self, logs=None):
        if not self.averaged:
            warnings.warn(f"SWA: training ended before epoch {self._start}, where averaging "
                          "starts; the model keeps its last weights", stacklevel=2)
            return
        for weight, average in zip(self.model.trainable_variables, self._averages, strict=True):
            weight.assign(average)
        self._averages = None
        if self._batch_norm_layers():
            self.reestimate_batch_norm()

    def reestimate_batch_norm(self) -> None:
        """Recompute every batch-norm layer's moving statistics as the plain average over
        `batch_norm_data` of the batch statistics under the current weights."""
        layers = self._batch_norm_layers()
        momenta = [layer.momentum for layer in layers]
        for layer in layers:
            layer.moving_mean.assign(keras.ops.zeros(layer.moving_mean.shape))
            layer.moving_variance.assign(keras.ops.ones(layer.moving_variance.shape))
        try:
            for index, inputs in enumerate(self._input_batches()):
                # Keras updates moving = momentum * moving + (1 - momentum) * batch; with
                # momentum k / (k + 1) at batch k the result is the running mean.
                for layer in layers:
                    layer.momentum = index / (index + 1)
                self.model(inputs, training=True)
        finally:
            for layer, momentum in zip(layers, momenta, strict=True):
                layer.momentum = momentum

    def _input_batches(self):
        data = self.batch_norm_data
        if isinstance(data, np.ndarray):
            for start in range(0, len(data), self.batch_size):
                yield data[start:start + self.batch_size]
            return
        for batch in data:
            if isinstance(batch, tuple | list) and len(batch) in (2, 3):
                batch = batch[0]
            yield keras.tree.map_structure(np.asarray, batch)
