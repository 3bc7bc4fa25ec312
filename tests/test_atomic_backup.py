"""The training state written whole (kerazoo/training/atomic_backup.py): in Keras' own names and
format, restored by BackupAndRestore, and a failed write leaves the previous state as it was."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest

from kerazoo.training import atomic_backup
from kerazoo.training.checkpoint import saved_epoch


def small_model(seed: int) -> keras.Model:
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.ones((8, 4)), np.zeros((8, 3)), epochs=1, verbose=0)  # optimizer state
    return model


def test_the_file_names_are_the_ones_backup_and_restore_reads(tmp_path):
    # Keras keeps them in private attributes: this test is where a new Keras would show a
    # rename.
    keras_backup = keras.callbacks.BackupAndRestore(str(tmp_path), double_checkpoint=True)
    assert keras_backup._weights_path == str(tmp_path / atomic_backup.WEIGHTS)
    assert keras_backup._training_metadata_path == str(tmp_path / atomic_backup.METADATA)
    assert keras_backup._prev_weights_path == str(tmp_path / atomic_backup.WEIGHTS) + \
        atomic_backup.PREVIOUS


def test_backup_and_restore_restores_what_was_saved_and_keeps_the_previous(tmp_path):
    tmp_path = tmp_path / "backup"
    first, second = small_model(1), small_model(2)
    atomic_backup.save(first, tmp_path, epoch=3)
    atomic_backup.save(second, tmp_path, epoch=4)
    assert saved_epoch(tmp_path) == 4
    assert (tmp_path / (atomic_backup.WEIGHTS + atomic_backup.PREVIOUS)).is_file()
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "latest.weights.h5", "latest.weights.h5.bkp", "training_metadata.json",
        "training_metadata.json.bkp"]

    restored = small_model(3)
    restore = keras.callbacks.BackupAndRestore(str(tmp_path), double_checkpoint=True)
    restore.set_model(restored)
    restore.on_train_begin()
    for mine, theirs in zip(restored.weights, second.weights, strict=True):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(mine),
                                      keras.ops.convert_to_numpy(theirs))
    assert restored._initial_epoch == 4


def test_a_failed_write_leaves_the_previous_state_and_no_partial_file(tmp_path):
    tmp_path = tmp_path / "backup"
    model = small_model(1)
    atomic_backup.save(model, tmp_path, epoch=3)
    before = {path.name: path.read_bytes() for path in tmp_path.iterdir()}

    def no_space(filepath, **kwargs):  # as a full disk cuts a write short
        Path(filepath).write_bytes(b"half a file")
        raise OSError(28, "No space left on device")

    model.save_weights = no_space
    with pytest.raises(OSError):
        atomic_backup.save(model, tmp_path, epoch=4)
    assert {path.name: path.read_bytes() for path in tmp_path.iterdir()} == before
