"""Drawing a run's figures in a helper process, while the run logs its model and metrics.

Kept because MLflow's `log_figure` renders in the caller, under the GIL, and offers nothing
else: tests/test_painter.py (the helper draws in another process while the run goes on).

Matplotlib spends 60-80 ms on each of kerazoo's figures, all of it holding the GIL, so no
thread can draw while the run goes on, but another process can: a 6-second mlp_digits run
draws two figures (learning curves, confusion matrix) in the time it logs its model. The
helper imports NumPy, Matplotlib and kerazoo.plots only; it is started once a run has
prepared, so its half second of imports overlaps the first epoch, and it serves every later
run of the same Python process (a sweep's trials, a test session).

`draw(path, function, *args)` hands a kerazoo.plots function's name and arguments to the
helper and returns; `wait()` returns once every PNG is written. If the helper cannot start or
dies, the figures are drawn in this process instead, the same way. KERAZOO_PAINTER=inline
draws in this process always (the default is `helper`).

    python -m kerazoo.tracking.painter READ_FD WRITE_FD   # the helper's side, started by `Painter`
"""

from __future__ import annotations

import atexit
import io
import os
import subprocess
import sys
import time
import warnings
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

# How long `wait` gives the helper for the figures still being drawn before drawing them here.
WAIT_SECONDS = 60.0
MODES = ("helper", "inline")  # the values of KERAZOO_PAINTER


def mode() -> str:
    """KERAZOO_PAINTER, checked: a misspelt value must not quietly mean the default."""
    value = os.environ.get("KERAZOO_PAINTER", "helper")
    if value not in MODES:
        from kerazoo.errors import KerazooError

        raise KerazooError(f"KERAZOO_PAINTER must be one of {', '.join(MODES)}. "
                           f"Received: KERAZOO_PAINTER={value!r}")
    return value


def draw_now(path: str | Path, function_name: str, args: tuple, kwargs: dict) -> None:
    """Draw with kerazoo.plots.`function_name` and write the PNG to `path`."""
    from kerazoo import plots

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    plots.save(getattr(plots, function_name)(*args, **kwargs), path)


def draw_reporting(job: tuple[str, str, tuple, dict]) -> str | None:
    """`draw_now(*job)`; its error as one line, or None: a figure must not fail a run."""
    try:
        draw_now(*job)
    except Exception as failure:  # noqa: BLE001 - reported by the run (runner)
        return f"{type(failure).__name__}: {failure}"
    return None


class Painter:
    """Draws figures in the helper process when it is up, else in this one."""

    def __init__(self, helper: bool = True):
        self._process: subprocess.Popen | None = None
        self._send: Connection | None = None
        self._receive: Connection | None = None
        self._waiting: dict[int, tuple[str, str, tuple, dict]] = {}  # job id -> job
        self._next_job = 0
        if helper and mode() == "helper":
            self._start()

    @property
    def uses_helper(self) -> bool:
        return (self._send is not None and self._process is not None
                and self._process.poll() is None)

    def _start(self) -> None:
        to_helper_read, to_helper_write = os.pipe()
        from_helper_read, from_helper_write = os.pipe()
        package_parent = str(Path(__file__).resolve().parent.parent)
        environment = {**os.environ, "PYTHONPATH": os.pathsep.join(
            filter(None, [package_parent, os.environ.get("PYTHONPATH")]))}
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "kerazoo.tracking.painter", str(to_helper_read),
                 str(from_helper_write)],
                pass_fds=(to_helper_read, from_helper_write), stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, env=environment,
                # A session of its own: Ctrl-C in a terminal reaches the run, which decides
                # what to do; the helper ends when the run closes its end of the pipe.
                start_new_session=True)
        except (OSError, ValueError):  # no process to be had (or no fd passing here)
            self._process = None
            for descriptor in (to_helper_write, from_helper_read):
                os.close(descriptor)
        else:
            self._send = Connection(to_helper_write, readable=False)
            self._receive = Connection(from_helper_read, writable=False)
        finally:
            os.close(to_helper_read)
            os.close(from_helper_write)

    def draw(self, path: str | Path, function, *args: Any, **kwargs: Any) -> None:
        """Draw kerazoo.plots' `function(*args, **kwargs)` into the PNG file `path`."""
        if function.__module__ != "kerazoo.plots":  # the helper knows those by name only
            raise ValueError(f"`function` must be one of kerazoo.plots' figures. "
                             f"Received: function={function.__module__}.{function.__name__}")
        job = (str(Path(path).resolve()), function.__name__, args, kwargs)
        if not self.uses_helper:
            draw_now(*job)
            return
        self._next_job += 1
        self._waiting[self._next_job] = job
        try:
            self._send.send((self._next_job, *job))
        except (OSError, ValueError):  # the helper is gone: wait() draws what it did not
            self.close()

    def wait(self) -> list[str]:
        """Block until every figure asked for is written; returns the errors, one line each
        (an error in a figure is reported, not raised: a picture must not fail a run)."""
        errors = []
        deadline = time.monotonic() + WAIT_SECONDS
        while self._waiting and self.uses_helper:
            try:
                if not self._receive.poll(max(0.0, deadline - time.monotonic())):
                    warnings.warn("kerazoo: the figure helper did not answer in "
                                  f"{WAIT_SECONDS:.0f} s; drawing here instead", stacklevel=2)
                    self.close(wait_seconds=0)
                    break
                job_id, error = self._receive.recv()
            except (OSError, EOFError):
                self.close()
                break
            path = self._waiting.pop(job_id)[0]
            if error is not None:
                errors.append(f"{Path(path).name}: {error}")
        for job in list(self._waiting.values()):  # what the helper did not draw
            error = draw_reporting(job)
            if error is not None:
                errors.append(f"{Path(job[0]).name}: {error}")
        self._waiting.clear()
        return errors

    def abandon(self) -> None:
        """Forget the figures asked for and not yet returned (the run that wanted them is
        failing); a helper still drawing them is stopped, so that no file appears later."""
        if self._waiting:
            self.close(wait_seconds=0)
        self._waiting.clear()

    def close(self, wait_seconds: float | None = None) -> None:
        """Close the helper's pipe, which ends it once idle (once its imports are done, if
        it is still importing: however long a loaded machine takes); past `wait_seconds`,
        if given, kill it."""
        process, self._process = self._process, None
        for connection in (self._send, self._receive):
            if connection is not None:
                connection.close()
        self._send = self._receive = None
        if process is not None:
            try:
                process.wait(timeout=wait_seconds)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


_shared: Painter | None = None


def shared_painter() -> Painter:
    """This process's painter, its helper started on first use and again if it died (or
    stopped, when KERAZOO_PAINTER became `inline`)."""
    global _shared
    if _shared is None or _shared.uses_helper != (mode() == "helper"):
        if _shared is not None:
            _shared.close()
        _shared = Painter()
    return _shared


@atexit.register
def close_shared() -> None:
    """End this process's helper; the next run starts a new one."""
    global _shared
    if _shared is not None:  # nothing is left to draw: a helper still importing is killed
        _shared.close(wait_seconds=0.2)
        _shared = None


def serve(read_descriptor: int, write_descriptor: int) -> None:
    """The helper's loop: draw each job received, answer with its id and error (or None),
    until the other end closes."""
    from kerazoo import plots

    # A first figure loads the fonts and sets Agg up: done now, while the run is training,
    # rather than on the run's first real figure.
    plots.save(plots.learning_curves({"loss": [1.0, 0.5], "val_loss": [1.0, 0.6]}),
               io.BytesIO())

    receive = Connection(read_descriptor, writable=False)
    send = Connection(write_descriptor, readable=False)
    while True:
        try:
            job_id, *job = receive.recv()
        except (EOFError, OSError):
            return
        try:
            send.send((job_id, draw_reporting(tuple(job))))
        except (OSError, ValueError):
            return


if __name__ == "__main__":
    serve(int(sys.argv[1]), int(sys.argv[2]))
