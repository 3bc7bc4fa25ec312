"""Ctrl-C and SIGTERM as KeyboardInterrupt, except inside a critical section.

A signal's Python handler runs between any two bytecodes, so a plain KeyboardInterrupt can
land in the middle of writing a checkpoint and leave a truncated file that `--resume` cannot
load. While a critical section is open the signal is only noted, and raised as soon as the
section closes: interruption stays prompt (a checkpoint takes well under a second) and the
saved state stays whole.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

_pending: list[int] = []
_depth = 0


def _interrupt(signum: int) -> KeyboardInterrupt:
    return KeyboardInterrupt(f"received {signal.Signals(signum).name}")


def _handle(signum, frame) -> None:
    if _depth:
        _pending.append(signum)
    else:
        raise _interrupt(signum)


@contextlib.contextmanager
def signals_as_interrupt() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM raise KeyboardInterrupt (deferred past critical
    sections), so a run ends KILLED rather than RUNNING. A no-op outside the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.signal(number, _handle)
                for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        _pending.clear()


@contextlib.contextmanager
def critical_section() -> Iterator[None]:
    """Hold back interruption until the block has finished."""
    global _depth
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if not _depth and _pending:
            signum = _pending[0]
            _pending.clear()
            raise _interrupt(signum)
