"""Room kept aside on the run's disk, so a run stopped by a full disk can still end honestly.

When the disk fills, the run must still write its last metrics, its error and its status
(FAILED): without room for them it would stay RUNNING with its last epochs' metrics lost.
So a file of `RESERVE_BYTES` is written beside the training state when training begins and
removed as soon as training stops early (kerazoo.training.checkpoint's `write_last_epoch`),
before those last writes. It goes with the training state when training finishes (Keras
removes that folder), and a resumed run writes it again.

Half a megabyte holds the writes that end a run with margin: ten seconds of buffered epochs
of a small model, a few tags, the status, each a few SQLite pages; writing it took 0.1 ms
(to the page cache, ext4, on the loaded 2-core development machine). It helps where the
store shares the disk with the run's folder (mlruns/, the default).
"""

from __future__ import annotations

from pathlib import Path

RESERVE_BYTES = 512 * 1024
NAME = "space-reserve"


class SpaceReserve:
    def __init__(self, folder: Path, size: int = RESERVE_BYTES):
        """Write the reserve into `folder`; a disk already full raises here, before training."""
        self.path = folder / NAME
        folder.mkdir(parents=True, exist_ok=True)
        try:
            with open(self.path, "wb") as file:
                file.write(bytes(size))
        except OSError:
            self.path.unlink(missing_ok=True)
            raise

    def release(self) -> None:
        """Give the room back to the writes that end the run."""
        self.path.unlink(missing_ok=True)
