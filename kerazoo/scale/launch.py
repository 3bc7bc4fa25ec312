"""`kerazoo launch RECIPE --processes N`: a data-parallel JAX job of N local processes.

It only starts `kerazoo run RECIPE --distribute data_parallel --coordinator 127.0.0.1:PORT
--num-processes N --process-id I` N times, the command each host of a real cluster runs
by hand, and relays their output. Useful to develop and test multi-process code on one
machine; everything listens on the loopback interface only.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, NamedTuple

from kerazoo.errors import KerazooError
from kerazoo.training import distributed, interrupts

LOOPBACK = "127.0.0.1"
STOP_GRACE_SECONDS = 10


JOB = "kerazoo launch (data-parallel JAX processes)"


def free_port() -> int:
    """A port free on the loopback interface now (the coordinator binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def worker_command(recipe: str, rank: int, processes: int, port: int,
                   run_arguments: list[str]) -> list[str]:
    return [sys.executable, "-m", "kerazoo.cli", "run", recipe, "--distribute", "data_parallel",
            "--coordinator", f"{LOOPBACK}:{port}", "--num-processes", str(processes),
            "--process-id", str(rank), *run_arguments]


def _relay(process: subprocess.Popen, label: str, lock: threading.Lock,
           hide: Callable[[str], Any] | None) -> None:
    for line in process.stdout:
        if hide is not None and hide(line):
            continue
        with lock:
            sys.stdout.write(f"[{label}] {line}")
            sys.stdout.flush()


class Ended(NamedTuple):
    """How a group of processes ended: the first to fail (its label and exit status), or
    label None and status 0 when every one succeeded."""

    label: str | None
    status: int

    def describe(self) -> str:
        if self.status < 0:  # killed by a signal: name it, as a shell would say 128+N
            return f"{self.label} was killed by {signal.Signals(-self.status).name}"
        return f"{self.label} exited with status {self.status}"


def exit_status(status: int) -> int:
    """A child's status as a shell reports it: 128+N for a child killed by signal N."""
    return 128 - status if status < 0 else status


def _stop(processes: list[subprocess.Popen]) -> None:
    """SIGTERM (runs end KILLED, not RUNNING), then SIGKILL for a process stuck in a
    collective whose peer is gone; a second interruption of the caller kills at once."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    try:
        for process in processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    except KeyboardInterrupt:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        raise


def run_together(commands: dict[str, list[str]], environment: dict[str, str],
                 hide: Callable[[str], Any] | None = None,
                 pids: dict[str, int] | None = None) -> Ended:
    """Start every command, relay their output prefixed by its label, wait for all.

    When one fails the rest are stopped at once: in a data-parallel job they would wait for
    it forever, and a sweep worker that fails outside a trial has found a problem every
    worker shares. The children have a session of their own, so a terminal's Ctrl-C reaches
    only this process, which forwards it (as SIGTERM) to each exactly once; an interruption
    here (KeyboardInterrupt, SIGTERM under kerazoo.training.interrupts) stops them all before it
    propagates, so no child outlives its parent's command. `pids`, if given, receives each
    child's process id by label.
    """
    lock = threading.Lock()
    workers: dict[str, subprocess.Popen] = {}
    relays: list[threading.Thread] = []
    try:
        for label, command in commands.items():
            worker = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      text=True, env=environment, start_new_session=True)
            workers[label] = worker
            if pids is not None:
                pids[label] = worker.pid
            relay = threading.Thread(target=_relay, args=(worker, label, lock, hide),
                                     daemon=True)
            relay.start()
            relays.append(relay)
        ended = Ended(None, 0)
        while True:
            # Every child is polled each round (a failure of the last one counts as much).
            statuses = {label: worker.poll() for label, worker in workers.items()}
            failed = [(label, status) for label, status in statuses.items()
                      if status not in (None, 0)]
            if failed:
                ended = Ended(*failed[0])
                _stop(list(workers.values()))
                break
            if all(status == 0 for status in statuses.values()):
                break
            time.sleep(0.2)
    except BaseException:
        _stop(list(workers.values()))
        raise
    finally:
        for relay in relays:  # the children's last lines (their one-line reasons) are shown
            relay.join(timeout=5)
    return ended


def launch(recipe: str, processes: int, run_arguments: list[str], port: int | None = None,
           hide: Callable[[str], Any] | None = None,
           tracking_uri: str | None = None) -> Ended:
    """Run the job; how it ended (the first rank to fail, if any).

    The launcher has the last word on the job's run: when a rank failed or the launcher was
    interrupted, rank 0 may have been stopped in a collective before it could end its run,
    so the run found by rank 0's host and pid is ended FAILED (naming the rank) or KILLED.
    """
    if processes < 1:
        raise KerazooError(f"--processes must be a positive integer. "
                           f"Received: --processes={processes}")
    distributed.require_jax(JOB)
    port = port or free_port()
    environment = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONUNBUFFERED": "1"}
    commands = {f"rank {rank}": worker_command(recipe, rank, processes, port, run_arguments)
                for rank in range(processes)}
    pids: dict[str, int] = {}
    since_ms = int(time.time() * 1000)
    try:
        with interrupts.signals_as_interrupt():
            ended = run_together(commands, environment, hide, pids)
    except KeyboardInterrupt:
        _end_job_run(tracking_uri, pids.get("rank 0"), since_ms, "KILLED", None)
        raise
    if ended.status:
        _end_job_run(tracking_uri, pids.get("rank 0"), since_ms, "FAILED", ended.describe())
    return ended


def _end_job_run(uri: str | None, pid: int | None, since_ms: int, status: str,
                 reason: str | None) -> None:
    from kerazoo.tracking import runs as tracking

    if pid is not None:
        tracking.end_runs_of_process(tracking.tracking_uri(uri), socket.gethostname(), pid,
                                     since_ms, status, reason)
