"""The Keras callback that carries each epoch's `logs` to a tracked run."""

from __future__ import annotations

from typing import Any

import keras


class MetricsCallback(keras.callbacks.Callback):
    """Logs every number in `logs` at each epoch end, at step = epoch number (from 1).

    Put it after the callbacks that write into `logs` (the learning rate, a dropout rate,
    ...) so their values are included. When no callback reports the learning rate, it is
    read from the optimizer so every run has its history. `history` holds everything logged
    (seeded with the earlier epochs when a run resumes); an epoch already in it is not logged
    again, so a resumed run's history has no duplicated steps.
    """

    def __init__(self, run, history: dict[str, list[float]] | None = None,
                 flush_at_train_end: bool = True):
        """`run`: anything with `log_metrics(values, step)` and `flush()` (a TrackedRun).
        `flush_at_train_end=False` leaves the last epochs' metrics queued for the caller's
        next write (the runner's test metrics follow within a moment)."""
        super().__init__()
        self.run = run
        self.flush_at_train_end = flush_at_train_end
        self.history: dict[str, list[float]] = {k: list(v) for k, v in (history or {}).items()}

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        values = {key: float(value) for key, value in (logs or {}).items()
                  if _is_number(value)}
        if "learning_rate" not in values and self.model is not None:
            learning_rate = getattr(self.model.optimizer, "learning_rate", None)
            if learning_rate is not None:
                values["learning_rate"] = float(keras.ops.convert_to_numpy(learning_rate))
        if epoch < len(self.history.get("loss", ())):
            return  # logged before the interruption; re-run from an older checkpoint
        for key, value in values.items():
            self.history.setdefault(key, []).append(value)
        self.run.log_metrics(values, step=epoch + 1)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self.flush_at_train_end:
            self.run.flush()


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return getattr(value, "ndim", 0) == 0
