"""Stop a diverged run loudly: a NaN or infinite loss ends the run FAILED with the reason.

Keras' own TerminateOnNaN only sets `stop_training`, so `fit` returns normally and the run
would end FINISHED, as if the model had trained.
"""

from __future__ import annotations

import math

import keras

from kerazoo.errors import TrainingDiverged


class FailOnNonFiniteLoss(keras.callbacks.Callback):
    """Checks the epoch's mean loss: a NaN in any batch carries into it. A per-batch check
    would stop a few batches sooner but costs every run: a batch-end hook makes Keras wait
    for each step's results instead of dispatching callbacks asynchronously."""

    def on_epoch_end(self, epoch, logs=None):
        for key in ("loss", "val_loss"):
            value = (logs or {}).get(key)
            if value is not None and not math.isfinite(float(value)):
                raise TrainingDiverged(f"{key} became {float(value)} in epoch {epoch + 1}; "
                                       "try a smaller train.learning_rate")
