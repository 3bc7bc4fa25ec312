"""Stop a diverged run loudly: a NaN or infinite loss ends the run FAILED with the reason.

Keras' own TerminateOnNaN only sets `stop_training`, so `fit` returns normally and the run
would end FINISHED, as if the model had trained.
"""

from __future__ import annotations

import math

import keras


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite."""


class FailOnNonFiniteLoss(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            raise TrainingDiverged(f"loss became {float(loss)} at epoch {self._epoch + 1}, "
                                   f"batch {batch + 1}; try a smaller train.learning_rate")
