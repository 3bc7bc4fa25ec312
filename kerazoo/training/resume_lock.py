"""One `--resume` of a run at a time: an OS lock on the run's folder, held for the whole resume.

Checking that the run is not RUNNING is not enough: preparing (the data, `learning_rate:
auto`'s range test) takes a while before the run is marked RUNNING again, and two resumes
started within it both pass the check, then train into the same backup folder (an HDF5 lock
error in one, an optimizer mismatch in the other, the run FAILED and a zero-byte backup).

The lock is `flock` on the folder itself, taken before the resume's own checks (which then
see the run as the holder left it) and kept until the resume ends. No lock file is left to
go stale: the folder is removed when the run finishes, and the OS releases the lock when the
process ends, however it ends (`kill -9` included).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from kerazoo.errors import KerazooError


@contextlib.contextmanager
def holding(folder: Path, run_id: str) -> Iterator[None]:
    """Hold run `run_id`'s `folder` for the block, or one line if another process holds it.
    A missing folder is not held: the resume's own check says nothing was saved there."""
    try:
        descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except (FileNotFoundError, NotADirectoryError):
        yield
        return
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise KerazooError(f"--resume: run {run_id} is being resumed by another process "
                               f"(it holds {str(folder)!r}); wait for it to end, or stop "
                               "it first") from None
        yield
    finally:
        os.close(descriptor)  # releases the lock


@contextlib.contextmanager
def resuming(run_id: str | None, uri: str | None) -> Iterator[None]:
    """Around a whole `run_recipe(..., resume_run_id=run_id)`: the run's folder (its
    `kerazoo.run_dir` tag, as the resume finds it) held throughout; nothing without a run."""
    if not run_id:
        yield
        return
    from kerazoo.tracking import runs as tracking
    from kerazoo.training.runner import RUNS_DIR

    tracking.prepare_store(tracking.tracking_uri(uri))
    tags = tracking.find_run(run_id).data.tags
    with holding(Path(tags.get("kerazoo.run_dir", RUNS_DIR / run_id)), run_id):
        yield
