"""Whether a folder kerazoo will write into can be written, found before anything trains.

A read-only store folder or run folder would otherwise fail only when it is first written:
the store's lock (a traceback), or the training-state backup after the first epochs (a FAILED
run and the epochs lost). Permission bits do not tell (root ignores them, a read-only mount
or an immutable folder refuses even root), so a probe file is created and removed.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from kerazoo.errors import KerazooError


def check_writable(folder: Path, what: str) -> None:
    """Create `folder` if needed and prove a file can be written in it, else one line."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".kerazoo-write-check-"):
            pass
    except OSError as error:
        raise KerazooError(f"{what} {str(folder)!r} is not writable "
                           f"({error.strerror or error}); make it writable or work in "
                           "another folder") from None
