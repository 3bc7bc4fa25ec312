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
from typing import Any

from kerazoo import distributed
from kerazoo.errors import KerazooError

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


def _stop(processes: list[subprocess.Popen]) -> None:
    """SIGTERM (runs end KILLED, not RUNNING), then SIGKILL for a process stuck in a
    collective whose peer is gone."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run_together(commands: dict[str, list[str]], environment: dict[str, str],
                 hide: Callable[[str], Any] | None = None) -> int:
    """Start every command, relay their output prefixed by its label, wait for all.

    Returns 0 when all succeeded, else the first failing status. When one fails the rest
    are stopped: in a data-parallel job they would wait for it forever, and a sweep worker
    that fails outside a trial has found a problem every worker shares.
    """
    lock = threading.Lock()
    workers: list[subprocess.Popen] = []
    relays: list[threading.Thread] = []
    try:
        for label, command in commands.items():
            worker = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      text=True, env=environment)
            workers.append(worker)
            relay = threading.Thread(target=_relay, args=(worker, label, lock, hide),
                                     daemon=True)
            relay.start()
            relays.append(relay)
        status = 0
        while any(worker.poll() is None for worker in workers):
            failed = [worker.returncode for worker in workers
                      if worker.returncode not in (None, 0)]
            if failed:
                status = failed[0]
                _stop(workers)
                break
            time.sleep(0.2)
        status = status or next((worker.returncode for worker in workers
                                 if worker.returncode), 0)
    except BaseException:
        _stop(workers)
        raise
    for relay in relays:
        relay.join(timeout=5)
    return status


def launch(recipe: str, processes: int, run_arguments: list[str], port: int | None = None,
           hide: Callable[[str], Any] | None = None) -> int:
    """Run the job; returns 0 when every rank succeeded, else the first failing status."""
    if processes < 1:
        raise KerazooError(f"--processes must be a positive integer. "
                           f"Received: --processes={processes}")
    distributed.require_jax(JOB)
    port = port or free_port()
    environment = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONUNBUFFERED": "1"}
    commands = {f"rank {rank}": worker_command(recipe, rank, processes, port, run_arguments)
                for rank in range(processes)}
    return run_together(commands, environment, hide)
