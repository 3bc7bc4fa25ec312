"""Ctrl-C and SIGTERM as KeyboardInterrupt, except inside a critical section or a hold.

A signal's Python handler runs between any two bytecodes, so a plain KeyboardInterrupt can
land in the middle of writing a checkpoint and leave a truncated file that `--resume` cannot
load. While a critical section is open the signal is only noted, and raised as soon as the
section closes: interruption stays prompt (a checkpoint takes well under a second) and the
saved state stays whole.

A hold is the softer kind, for work that is better finished than abandoned and will be
over in a moment (a short training epoch, see kerazoo.training.checkpoint): the first signal is
noted and raised on `release()`, a second one interrupts at once, because a user pressing
Ctrl-C twice means now. Past training's end, the runner holds signals until the run is
logged and honours one between its steps (`raise_if_pending`), so that none lands inside a
library's cleanup code, where Python would print it and carry on.

Kept because Keras can stop training only at once (a KeyboardInterrupt) or at the next
batch (`model.stop_training`, which then validates and logs the part-epoch as a whole one):
tests/test_interrupts.py, tests/test_after_training.py.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

_pending: list[int] = []
_depth = 0  # open critical sections
_held = False
_active = False  # inside signals_as_interrupt, on the main thread


def _interrupt(signum: int) -> KeyboardInterrupt:
    return KeyboardInterrupt(f"received {signal.Signals(signum).name}")


def _handle(signum, frame) -> None:
    if _depth or (_held and not _pending):
        _pending.append(signum)
    else:
        _pending.clear()
        raise _interrupt(signum)


def _reset() -> None:
    global _held
    _pending.clear()
    _held = False


def _raise_pending() -> None:
    # Two noted signals: one came during a hold and the user insisted during a section.
    if _pending and not _depth and (not _held or len(_pending) > 1):
        raise take_pending()


@contextlib.contextmanager
def signals_as_interrupt() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM raise KeyboardInterrupt (deferred past critical
    sections and holds), so a run ends KILLED rather than RUNNING. A no-op outside the main
    thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    global _active
    _reset()  # a hold left by a fit that raised elsewhere does not carry over
    previous = {number: signal.signal(number, _handle)
                for number in (signal.SIGINT, signal.SIGTERM)}
    _active = True
    try:
        yield
    finally:
        _active = False
        for number, handler in previous.items():
            signal.signal(number, handler)
        _reset()


@contextlib.contextmanager
def critical_section() -> Iterator[None]:
    """Hold back interruption until the block has finished."""
    global _depth
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        _raise_pending()


def hold() -> None:
    """Note the next signal instead of raising it, until `release()`."""
    global _held
    _held = True


def release(raise_pending: bool = True) -> None:
    """End the hold; a signal noted during it is raised now (unless a critical section is
    still open, or `raise_pending` is false: then it is raised when one closes)."""
    global _held
    _held = False
    if raise_pending:
        _raise_pending()


def raise_if_pending() -> None:
    """Honour a signal noted during a hold, here, between two steps that must each finish
    whole (the runner's, after training): never from inside one of them."""
    interruption = take_pending()
    if interruption is not None:
        raise interruption


def pending() -> bool:
    """Whether a signal is waiting to be raised."""
    return bool(_pending)


def active() -> bool:
    """Whether signals are being turned into KeyboardInterrupt here: only then can a hold
    defer them (elsewhere Python's own handler interrupts at once)."""
    return _active


def take_pending() -> KeyboardInterrupt | None:
    """The interruption a noted signal asks for, now forgotten here: for a caller that
    raises it in place of something else."""
    if not _pending:
        return None
    signum = _pending[0]
    _pending.clear()
    return _interrupt(signum)


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """Inside a critical section, a block that signals interrupt again: a sweep's trial,
    whose bookkeeping around it must finish. A signal noted before is raised on entry."""
    global _depth
    saved, _depth = _depth, 0
    try:
        _raise_pending()
        yield
    finally:
        _depth = saved
