"""Training state for `--resume`: Keras' BackupAndRestore plus the random-number state, each
epoch's save made whole even when Ctrl-C or SIGTERM arrives during it.

BackupAndRestore saves weights, optimizer state and the epoch, but not the state of the
layers' seed generators (dropout masks, noise layers), so a resumed run would draw different
masks than an uninterrupted one and end elsewhere. `TrainingStateBackup` saves those states
too, stamped with the epoch, and restores the ones matching the weights Keras restored.
"""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np

from kerazoo.interrupts import critical_section


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


class TrainingStateBackup(keras.callbacks.BackupAndRestore):
    """BackupAndRestore (with its previous-checkpoint fallback) plus seed-generator state."""

    def __init__(self, backup_dir: str | Path):
        super().__init__(str(backup_dir), double_checkpoint=True)
        self.directory = Path(backup_dir)

    def _random_state_path(self, epoch: int) -> Path:
        return self.directory / f"random_state_epoch{epoch}.npz"

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        # Read after Keras restored: if it fell back to the previous checkpoint, the metadata
        # file now names that checkpoint's epoch.
        epoch = saved_epoch(self.directory)
        if epoch is None or not self._random_state_path(epoch).is_file():
            return
        states = np.load(self._random_state_path(epoch))
        for index, variable in enumerate(random_state_variables(self.model)):
            variable.assign(states[f"state_{index}"])

    def on_epoch_end(self, epoch, logs=None):
        with critical_section():
            self.directory.mkdir(parents=True, exist_ok=True)
            states = {f"state_{index}": keras.ops.convert_to_numpy(variable)
                      for index, variable in enumerate(random_state_variables(self.model))}
            temporary = self.directory / "random_state.tmp.npz"
            np.savez(temporary, **states)
            temporary.replace(self._random_state_path(epoch + 1))
            super().on_epoch_end(epoch, logs)
            # Keep this epoch's and the previous one's: the weights on disk are one of the two.
            for stale in self.directory.glob("random_state_epoch*.npz"):
                if int(stale.stem.removeprefix("random_state_epoch")) < epoch:
                    stale.unlink(missing_ok=True)
