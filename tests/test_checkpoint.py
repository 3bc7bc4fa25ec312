"""The training-state backup: writes kept to a share of training time, and the last completed
epoch's state written whole when training stops in the middle of the next one: from a copy
kept in memory when epochs are long, by finishing the epoch first when they are short."""

from __future__ import annotations

import os
import signal

import keras
import numpy as np
import pytest

from kerazoo.training.checkpoint import TrainingStateBackup, saved_epoch
from kerazoo.training.interrupts import signals_as_interrupt


def small_model() -> keras.Model:
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dropout(0.2), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    return model


class StopInEpoch(keras.callbacks.Callback):
    """Keeps the weights at every epoch end; in the middle of epoch `stop_epoch` (counted
    from 0, so after `stop_epoch` completed ones) raises, or sends this process `signals`
    SIGINTs."""

    def __init__(self, stop_epoch: int, signals: int = 0):
        super().__init__()
        self.stop_epoch = stop_epoch
        self.signals = signals
        self.weights_after: dict[int, list[np.ndarray]] = {}

    def on_epoch_end(self, epoch, logs=None):
        self.weights_after[epoch + 1] = [np.array(w) for w in self.model.get_weights()]

    def on_train_batch_end(self, batch, logs=None):
        if self.epoch_now == self.stop_epoch and batch == 2:
            if not self.signals:
                raise RuntimeError("stopped mid-epoch")
            for _ in range(self.signals):
                os.kill(os.getpid(), signal.SIGINT)

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_now = epoch


@pytest.fixture
def data():
    generator = np.random.default_rng(0)
    x = generator.normal(size=(256, 4)).astype("float32")
    return x, x.sum(axis=1, keepdims=True)


def assert_weights_equal(directory, expected: list[np.ndarray]) -> keras.Model:
    restored = small_model()
    restored.optimizer.build(restored.trainable_variables)
    restored.load_weights(directory / "latest.weights.h5")
    for saved, kept in zip(restored.get_weights(), expected, strict=True):
        np.testing.assert_array_equal(saved, kept)
    return restored


def test_writes_stay_within_their_share_and_the_last_epoch_is_written_on_failure(
        tmp_path, data):
    model = small_model()
    # A share this small lets only the first epoch end write: the others are kept in memory
    # (every epoch counts as long here, so each one's state is copied).
    backup = TrainingStateBackup(tmp_path / "backup", write_share=1e-9, first_write_after=0,
                                 hold_epochs_under=0)
    stopper = StopInEpoch(stop_epoch=5)
    with pytest.raises(RuntimeError, match="mid-epoch"):
        model.fit(*data, batch_size=32, epochs=8, verbose=0, callbacks=[stopper, backup])
    assert saved_epoch(tmp_path / "backup") == 1

    backup.write_last_epoch()
    assert saved_epoch(tmp_path / "backup") == 5
    restored = assert_weights_equal(tmp_path / "backup", stopper.weights_after[5])
    assert int(restored.optimizer.iterations) == 5 * 8  # 8 batches an epoch
    # Only the random state matching the weights on disk, and the previous write's, remain.
    assert sorted(path.name for path in (tmp_path / "backup").glob("random_state_epoch*")) \
        == ["random_state_epoch1.npz", "random_state_epoch5.npz"]


def test_a_short_fit_writes_only_when_it_stops(tmp_path, data):
    model = small_model()
    # first write after 10 s of training; long epochs, so each one's state is copied
    backup = TrainingStateBackup(tmp_path / "backup", hold_epochs_under=0)
    with pytest.raises(RuntimeError):
        model.fit(*data, batch_size=32, epochs=5, verbose=0,
                  callbacks=[StopInEpoch(stop_epoch=3), backup])
    assert saved_epoch(tmp_path / "backup") is None
    backup.write_last_epoch()
    assert saved_epoch(tmp_path / "backup") == 3


def test_a_plain_fit_keeps_copies_since_nothing_defers_its_signals(tmp_path, data):
    model = small_model()
    backup = TrainingStateBackup(tmp_path / "backup")  # short epochs, but no kerazoo handler
    stopper = StopInEpoch(stop_epoch=3)
    with pytest.raises(RuntimeError):
        model.fit(*data, batch_size=32, epochs=5, verbose=0, callbacks=[stopper, backup])
    backup.write_last_epoch()
    assert saved_epoch(tmp_path / "backup") == 3
    assert_weights_equal(tmp_path / "backup", stopper.weights_after[3])


def test_a_signal_in_a_short_epoch_stops_training_at_its_end_with_its_state_written(
        tmp_path, data):
    model = small_model()
    # Every epoch counts as short (they take milliseconds; 60 s keeps a stalled machine from
    # making one long).
    backup = TrainingStateBackup(tmp_path / "backup", hold_epochs_under=60)
    stopper = StopInEpoch(stop_epoch=3, signals=1)
    with signals_as_interrupt(), pytest.raises(KeyboardInterrupt, match="SIGINT"):
        model.fit(*data, batch_size=32, epochs=8, verbose=0, callbacks=[stopper, backup])
    assert sorted(stopper.weights_after) == [1, 2, 3, 4]  # the fourth epoch was finished
    assert saved_epoch(tmp_path / "backup") == 4
    restored = assert_weights_equal(tmp_path / "backup", stopper.weights_after[4])
    assert int(restored.optimizer.iterations) == 4 * 8


def test_a_second_signal_in_a_short_epoch_stops_at_once(tmp_path, data):
    model = small_model()
    backup = TrainingStateBackup(tmp_path / "backup", first_write_after=0,
                                 hold_epochs_under=60)
    stopper = StopInEpoch(stop_epoch=3, signals=2)
    with signals_as_interrupt(), pytest.raises(KeyboardInterrupt, match="SIGINT"):
        model.fit(*data, batch_size=32, epochs=8, verbose=0, callbacks=[stopper, backup])
    assert sorted(stopper.weights_after) == [1, 2, 3]
    backup.write_last_epoch()
    # No copy was kept for the short epochs: what is on disk is the first epoch's write.
    assert saved_epoch(tmp_path / "backup") == 1


def test_every_epoch_writes_at_each_epoch_end(tmp_path, data):
    model = small_model()
    backup = TrainingStateBackup(tmp_path / "backup", every_epoch=True)
    stopper = StopInEpoch(stop_epoch=3)
    with pytest.raises(RuntimeError):
        model.fit(*data, batch_size=32, epochs=5, verbose=0, callbacks=[stopper, backup])
    assert saved_epoch(tmp_path / "backup") == 3
