"""The wall time a run spends training, as a per-epoch running total in `logs`."""

from __future__ import annotations

import time

import keras


class TrainingClock(keras.callbacks.Callback):
    """Writes `training_seconds` into each epoch's logs: the seconds spent in training steps
    since training began, the validation passes left out (their batch size is the run's,
    so a batch-1 run's would count its slow evaluation as training). The tracking callback
    logs it with the epoch's other numbers, so loss can be drawn against time."""

    def __init__(self):
        super().__init__()
        self.total = 0.0
        self._since: float | None = None

    def on_train_begin(self, logs=None):
        self.total, self._since = 0.0, None

    def on_epoch_begin(self, epoch, logs=None):
        self._since = time.perf_counter()

    def _stop(self) -> None:
        if self._since is not None:
            self.total += time.perf_counter() - self._since
            self._since = None

    def on_test_begin(self, logs=None):  # fit's validation pass starts: training paused
        self._stop()

    def on_epoch_end(self, epoch, logs=None):
        self._stop()
        if logs is not None:
            logs["training_seconds"] = self.total
