"""A write that failed for want of space, found anywhere in an error's chain, said in one line.

When the disk fills, the first failed write raises, and what runs while the run ends (the
last training state, the last metrics, the run's status) meets the same full disk and
raises again, each error chained to the one before, often wrapped by the library that wrote
(SQLAlchemy and MLflow around SQLite's "database or disk is full", HDF5 around ENOSPC). So
the whole chain is searched, and the line names the first file found in it.
"""

from __future__ import annotations

import errno
import os

# No space, no quota left, or a file beyond the process's size limit (RLIMIT_FSIZE).
SPACE_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
# How SQLite, and the libraries that wrap it, say so (SQLITE_FULL).
SQLITE_FULL = "database or disk is full"
WHAT = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is used up",
        errno.EFBIG: "a file reached the size limit (ulimit -f)"}


def _chain(error: BaseException | None):
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__


def _space_errno(error: BaseException) -> int | None:
    if isinstance(error, OSError) and error.errno in SPACE_ERRNOS:
        return error.errno
    text = str(error)
    if SQLITE_FULL in text:
        return errno.ENOSPC
    # HDF5 reports the errno only in its message ("errno = 28, error message = ...").
    return next((number for number in SPACE_ERRNOS if os.strerror(number) in text), None)


def caused_by_full_disk(error: BaseException) -> bool:
    """Whether `error`, or one it was raised from or while handling, is a write that found
    no space left."""
    return any(_space_errno(link) is not None for link in _chain(error))


def describe(error: BaseException, store: str | None = None) -> str | None:
    """The one line for a run stopped by a full disk, naming where; None for other errors.
    `store` names the tracking store, for SQLite's errors, which name no file."""
    found = [(link, _space_errno(link)) for link in _chain(error)]
    found = [(link, number) for link, number in found if number is not None]
    if not found:
        return None
    number = found[0][1]
    where = next((link.filename for link, _ in found
                  if isinstance(link, OSError) and link.filename), None)
    if where is None and store is not None:
        where = store
    place = f" writing {str(where)!r}" if where is not None else ""
    return (f"{WHAT[number]} ({os.strerror(number)}){place}; the run was stopped with its "
            "last whole training state kept: make room, then continue it with "
            "`kerazoo run RECIPE --resume RUN_ID` (`kerazoo compare` lists runs)")
