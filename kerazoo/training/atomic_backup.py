"""The training state written so that a failed or interrupted write never spoils what was kept.

Keras' BackupAndRestore saves in place: it copies the current files to `.bkp` and then
overwrites them, so a full disk (or a hard kill) mid-write leaves a truncated copy, a
truncated file, or both, and nothing to resume from. Here each file is written whole beside
its final name, flushed to disk (`fsync`), then renamed over it (`os.replace`, atomic on
POSIX); the previous state becomes `.bkp` by a hard link, which needs no space and cannot be
cut short. A write that fails removes its partial files, so the space it took is given back
for the run's last writes (its metrics and status). The names and formats are Keras' own,
so BackupAndRestore restores the state, falling back to `.bkp` as it does
(tests/test_atomic_backup.py checks the names against Keras').

Weights and epoch are two files renamed one after the other: only a hard kill in the
microsecond between the two renames pairs the new weights with the previous epoch (Keras'
own save has the same gap, as long as writing the weights). Signals are held off meanwhile
(kerazoo.training.interrupts.critical_section, around the caller).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import keras

WEIGHTS = "latest.weights.h5"  # BackupAndRestore's file names
METADATA = "training_metadata.json"
PREVIOUS = ".bkp"


def _sync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_whole(path: Path, partial: Path, write: Callable[[Path], None]) -> None:
    """`write(partial)`, synced, then renamed to `path`; on failure `partial` is removed."""
    try:
        write(partial)
        _sync(partial)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, path)


def _keep_as_previous(path: Path) -> None:
    """Make `path`'s current content the `.bkp` file, whole: a hard link (no space, no copy),
    or a copy renamed into place where the file system has no hard links."""
    if not path.exists():
        return
    previous = path.with_name(path.name + PREVIOUS)
    linking = path.with_name(path.name + ".linking")
    linking.unlink(missing_ok=True)
    try:
        os.link(path, linking)
    except OSError:
        write_whole(previous, linking, lambda partial: shutil.copyfile(path, partial))
        return
    os.replace(linking, previous)


def save(model: keras.Model, folder: Path, epoch: int) -> None:
    """Save what BackupAndRestore saves at an epoch's end (the weights, optimizer state
    included, and the epoch count) into `folder`, keeping the previous state as `.bkp`."""
    folder.mkdir(parents=True, exist_ok=True)
    weights = folder / "latest.partial.weights.h5"  # Keras wants the .weights.h5 ending
    metadata = folder / "training_metadata.partial.json"
    try:
        model.save_weights(weights, overwrite=True)
        _sync(weights)
        metadata.write_text(json.dumps({"epoch": epoch, "batch": 0}))
        _sync(metadata)
    except BaseException:
        weights.unlink(missing_ok=True)  # gives the space back
        metadata.unlink(missing_ok=True)
        raise
    _keep_as_previous(folder / WEIGHTS)
    _keep_as_previous(folder / METADATA)
    os.replace(weights, folder / WEIGHTS)
    os.replace(metadata, folder / METADATA)
    with contextlib.suppress(OSError):  # some file systems cannot sync a folder
        _sync(folder)  # the renames themselves reach the disk
