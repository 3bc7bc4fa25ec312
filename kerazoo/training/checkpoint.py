"""Training state for `--resume`: Keras' BackupAndRestore plus the random-number state, each
save made whole even when Ctrl-C or SIGTERM arrives during it, and cheap enough to leave on.

BackupAndRestore saves weights, optimizer state and the epoch, but not the state of the
layers' seed generators (dropout masks, noise layers), so a resumed run would draw different
masks than an uninterrupted one and end elsewhere. `TrainingStateBackup` saves those states
too, stamped with the epoch, and restores the ones matching the weights Keras restored.

Writing the files at every epoch end costs tens of milliseconds, a third of a short epoch
(mlp_digits' take 0.1 s). So the files are written once training has run for
`first_write_after` seconds, then whenever the time since the last write is long enough for
writes to stay under `write_share` of training, and always when training stops early:
Ctrl-C, SIGTERM, an exception (`write_last_epoch`). What is written then is the state after
the last completed epoch, whichever way it is kept:
- an epoch of `hold_epochs_under` seconds or more (judged by the one before) starts from a
  copy of the state in memory, taken at the previous epoch's end (about a millisecond per
  megabyte of weights and optimizer slots: under 0.2 % of such an epoch), so a signal
  interrupts it at once and the copy is written;
- a shorter epoch is finished before a signal takes effect (kerazoo.training.interrupts.hold: the
  run stops within that moment, and a second Ctrl-C stops it at once), and its own state is
  written. Copying would cost mlp_digits 1-2 % of its training time.
An exception in the middle of a short epoch, or a second Ctrl-C, leaves the last write or
copy to resume from, like a hard kill: at most the larger of the two write intervals is
lost, and `--resume` re-runs those epochs (their metrics are not logged twice).

The state on disk never runs ahead of the metrics in the store: every write first waits
until the metrics queued so far are written (`confirm_metrics`), and is not made when they
cannot be. A hard kill can lose the metrics of the epochs after the last write, never those
before it, so `--resume` logs each epoch exactly once. Once training has ended the state is
kept (not deleted, as BackupAndRestore would) until the run has FINISHED: a signal during the
evaluation, reports or model logging writes the final state, and `--resume` goes straight to
them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np

from kerazoo.training import atomic_backup, interrupts
from kerazoo.training.interrupts import critical_section
from kerazoo.training.space_reserve import SpaceReserve


def saved_epoch(backup_dir: Path) -> int | None:
    """Epochs completed according to the state BackupAndRestore saved, if any."""
    metadata = backup_dir / "training_metadata.json"
    if not metadata.is_file():
        return None
    return int(json.loads(metadata.read_text())["epoch"])


def random_state_variables(model: keras.Model) -> list[keras.Variable]:
    """Variables that are not weights: the seed generators' states."""
    weights = {id(weight) for weight in model.weights}
    return [variable for variable in model.variables if id(variable) not in weights]


def training_state_variables(model: keras.Model) -> list[keras.Variable]:
    """Everything a resumed run must find as it was: the model's variables (weights, seed
    generators) and the optimizer's (iterations, moments, learning rate)."""
    optimizer_variables = model.optimizer.variables if model.optimizer is not None else []
    unique = {id(variable): variable for variable in [*model.variables, *optimizer_variables]}
    return list(unique.values())


class TrainingStateBackup(keras.callbacks.BackupAndRestore):
    """BackupAndRestore (with its previous-checkpoint fallback) plus seed-generator state,
    written at most `write_share` of the training time, and always when training stops early
    (the module docstring says which state, and how short epochs keep it).

    `every_epoch=True` writes at every epoch end instead: in a multi-process JAX job saving
    is a collective, so every rank must decide alike, which timing on each rank cannot.
    """

    def __init__(self, backup_dir: str | Path, write_share: float = 0.01,
                 first_write_after: float = 10.0, hold_epochs_under: float = 1.0,
                 every_epoch: bool = False,
                 confirm_metrics: Callable[[], None] = lambda: None):
        """`confirm_metrics` returns once the epochs' metrics queued so far are in the store,
        and raises if they cannot be (TrackedRun.flush)."""
        super().__init__(str(backup_dir), double_checkpoint=True, delete_checkpoint=False)
        self.directory = Path(backup_dir)
        self.write_share = write_share
        self.first_write_after = first_write_after
        self.hold_epochs_under = hold_epochs_under
        self.every_epoch = every_epoch
        self.confirm_metrics = confirm_metrics
        self._ended = False  # training is over (the state is the model's, as it stands)
        self._reserve: SpaceReserve | None = None
        self._snapshot: tuple[int, list[np.ndarray]] | None = None
        self._written_epoch: int | None = None
        self._last_write_end = 0.0
        self._last_write_seconds = 0.0
        self._epoch_began = 0.0

    # BackupAndRestore's batch hook serves its save_freq in batches, unused here; defining it
    # would make Keras dispatch every batch's callbacks synchronously (see
    # CallbackList._configure_async_dispatch), so the default no-op is put back.
    on_train_batch_end = keras.callbacks.Callback.on_train_batch_end

    def _random_state_path(self, epoch: int) -> Path:
        return self.directory / f"random_state_epoch{epoch}.npz"

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self._reserve = SpaceReserve(self.directory)  # room to end the run on a full disk
        self._last_write_end = time.perf_counter()
        # Read after Keras restored: if it fell back to the previous checkpoint, the metadata
        # file now names that checkpoint's epoch.
        epoch = saved_epoch(self.directory)
        self._written_epoch = epoch
        if epoch is None or not self._random_state_path(epoch).is_file():
            return
        states = np.load(self._random_state_path(epoch))
        for index, variable in enumerate(random_state_variables(self.model)):
            variable.assign(states[f"state_{index}"])

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_began = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        completed = epoch + 1
        if self.every_epoch:
            self._write(completed)
            return
        short = time.perf_counter() - self._epoch_began < self.hold_epochs_under
        last = self.model.stop_training or completed >= self.params.get("epochs", 0)
        since_last_write = time.perf_counter() - self._last_write_end
        if self._written_epoch is None:  # nothing on disk yet
            due = since_last_write >= self.first_write_after
        else:
            due = self._last_write_seconds <= self.write_share * since_last_write
        if due:
            # The epoch is complete: a signal while the write waits on the store (a lost
            # server) interrupts at once, not after MLflow's retries.
            interrupts.release(raise_pending=False)
            self._write(completed)
        if (short or last) and interrupts.active():
            # Kept from here to the next epoch's end; past the last one, until the run ends:
            # the runner honours a signal between its steps (evaluate, reports, the model).
            interrupts.hold()
        else:
            # The next epoch may be long, or nobody defers signals (a plain `model.fit`
            # outside kerazoo's runner): no hold.
            interrupts.release(raise_pending=False)
            if not last:
                # np.array copies: a backend may hand out a view of a buffer the next step
                # reuses.
                self._snapshot = (completed, [
                    np.array(keras.ops.convert_to_numpy(variable))
                    for variable in training_state_variables(self.model)])
        # Checked after the hold is set, so a signal that came at any point of this epoch,
        # this method included, is seen now rather than at the next epoch's end.
        if interrupts.pending():
            if self._written_epoch != completed:  # the state is this epoch's, whole
                self._write(completed)
            interrupts.release()  # raises it

    def on_train_end(self, logs=None):
        self._ended = True  # the backup stays: the runner removes it once the run FINISHED

    def restore(self, model: keras.Model, epochs: int) -> None:
        """Load the saved state into `model` without training: for a run whose training had
        ended (all `epochs` of it) when it was stopped."""
        self.set_model(model)
        self.set_params({"epochs": epochs})
        self.on_train_begin()
        self.on_train_end()

    def write_last_epoch(self) -> None:
        """After training stopped early: write the last completed epoch's state kept in
        memory, unless something as recent is on disk already; after training ended, the
        model's final state, as having trained every epoch (early stopping included: there
        is nothing left to train). Nothing is written when the metrics cannot be confirmed.
        A signal that was held stays pending, for the caller to raise
        (kerazoo.training.interrupts.take_pending) in place of the error it is handling."""
        if self._reserve is not None:  # training stopped: the run's last writes may need it
            self._reserve.release()
        try:
            if self._ended:
                epoch, values = self.params.get("epochs", 0), None
            elif self._snapshot is not None:
                epoch, values = self._snapshot
            else:
                return
            if self._written_epoch is not None and epoch <= self._written_epoch:
                return
            try:
                self.confirm_metrics()
            except Exception:  # noqa: BLE001 - not in the store: the older state is the one kept
                return
            with critical_section():  # inside the hold: a held signal is not raised here
                if values is not None:
                    for variable, value in zip(training_state_variables(self.model), values,
                                               strict=True):
                        variable.assign(value)
                self._write(epoch)
        finally:
            interrupts.release(raise_pending=False)

    def _write(self, epoch: int) -> None:
        """Write the model's current state as the state after `epoch` epochs, once the
        metrics logged so far are confirmed in the store (raises if they cannot be)."""
        start = time.perf_counter()
        self.confirm_metrics()
        with critical_section():
            self.directory.mkdir(parents=True, exist_ok=True)
            states = {f"state_{index}": keras.ops.convert_to_numpy(variable)
                      for index, variable in enumerate(random_state_variables(self.model))}
            atomic_backup.write_whole(self._random_state_path(epoch),
                                      self.directory / "random_state.tmp.npz",
                                      lambda partial: np.savez(partial, **states))
            # What BackupAndRestore's own epoch-end save writes, for `epoch` epochs, each file
            # whole or not at all (kerazoo/training/atomic_backup.py).
            atomic_backup.save(self.model, self.directory, epoch)
            # Keep this epoch's and the previous write's: the weights on disk are one of the two.
            for stale in self.directory.glob("random_state_epoch*.npz"):
                stale_epoch = int(stale.stem.removeprefix("random_state_epoch"))
                if stale_epoch not in (epoch, self._written_epoch):
                    stale.unlink(missing_ok=True)
            self._written_epoch = epoch
        self._last_write_end = time.perf_counter()
        self._last_write_seconds = self._last_write_end - start
