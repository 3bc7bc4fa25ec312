"""Training state for `--resume`: Keras' BackupAndRestore plus the random-number state.

BackupAndRestore saves weights, optimizer state and the epoch, but not the state of the
layers' seed generators (dropout masks, noise layers), so a resumed run would draw different
masks than an uninterrupted one and end elsewhere. `RandomStateBackup` saves those states
each epoch, stamped with the epoch, and restores the ones matching the saved weights.
"""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np


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


class RandomStateBackup(keras.callbacks.Callback):
    """Place it after BackupAndRestore with the same folder."""

    def __init__(self, backup_dir: str | Path):
        super().__init__()
        self.backup_dir = Path(backup_dir)

    def _path(self, epoch: int) -> Path:
        return self.backup_dir / f"random_state_epoch{epoch}.npz"

    def on_train_begin(self, logs=None):
        epoch = saved_epoch(self.backup_dir)
        if epoch is None or not self._path(epoch).is_file():
            return
        states = np.load(self._path(epoch))
        for index, variable in enumerate(random_state_variables(self.model)):
            variable.assign(states[f"state_{index}"])

    def on_epoch_end(self, epoch, logs=None):
        self.backup_dir.mkdir(parents=True, exist_ok=True)
        states = {f"state_{index}": keras.ops.convert_to_numpy(variable)
                  for index, variable in enumerate(random_state_variables(self.model))}
        temporary = self.backup_dir / "random_state.tmp.npz"
        np.savez(temporary, **states)
        temporary.replace(self._path(epoch + 1))
        # Keep this epoch's and the previous one's: the weights on disk are one of the two.
        for stale in self.backup_dir.glob("random_state_epoch*.npz"):
            if int(stale.stem.removeprefix("random_state_epoch")) < epoch:
                stale.unlink(missing_ok=True)
