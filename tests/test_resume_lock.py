"""Two `--resume` of one run at once: the second is refused while the first holds the run's
folder, for the whole resume (kerazoo/training/resume_lock.py). Real processes, real signals,
a real store; every wait is on a line printed or a lock the kernel lists."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
from pathlib import Path

import mlflow
import pytest

from kerazoo.errors import KerazooError
from kerazoo.training.resume_lock import holding
from tests.conftest import run_cli
from tests.test_resume import start, wait_for_epochs

EPOCHS = 300  # a smoke run's epochs print far more than a pipe holds: see below
RECIPE = ["mlp_digits", "--smoke", "--set", f"train.epochs={EPOCHS}"]


def holds_flock(pid: int, path: Path) -> bool:
    """Whether process `pid` holds a `flock` on `path`, as the kernel lists it (/proc/locks
    lines read `N: FLOCK ADVISORY WRITE PID MAJOR:MINOR:INODE START END`)."""
    inode = str(path.stat().st_ino)
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        if fields[1] == "FLOCK" and fields[4] == str(pid) and \
                fields[5].rsplit(":", 1)[1] == inode:
            return True
    return False


@pytest.mark.slow  # four processes, 300 smoke epochs: 2-3 minutes on a loaded machine
def test_a_second_resume_is_refused_while_the_first_holds_the_run(tmp_path):
    interrupted = start(*RECIPE)
    wait_for_epochs(interrupted, 5)
    interrupted.send_signal(signal.SIGTERM)
    interrupted.communicate(timeout=300)
    (run_dir,) = (tmp_path / "mlruns" / "runs").iterdir()
    run_id, run_dir = run_dir.name, run_dir.resolve()  # the folder as the run's tag names it

    first = start(*RECIPE, "--resume", run_id)
    # Its output pipe made one page long, and no longer read once it trains: the first
    # resume then stops at a progress line, past the store's locks, holding the run, until
    # its output is read again (the rest of its epochs print more than the pipe and this
    # side's buffer hold), so the second is sure to come while it holds the run.
    fcntl.fcntl(first.stdout.fileno(), fcntl.F_SETPIPE_SZ, 4096)
    next(line for line in first.stdout if line.startswith("Epoch "))  # it trains
    assert holds_flock(first.pid, run_dir)
    second = run_cli("run", *RECIPE, "--resume", run_id)
    assert (run_dir / "backup" / "latest.weights.h5").stat().st_size > 0
    assert holds_flock(first.pid, run_dir)  # it had not finished
    output = first.communicate(timeout=300)

    assert second.returncode == 2, second.stderr
    assert second.stderr.strip().splitlines() == [
        f"kerazoo: error: --resume: run {run_id} is being resumed by another process (it "
        f"holds {str(run_dir)!r}); wait for it to end, or stop it first"], second.stderr
    assert first.returncode == 0, output
    client = mlflow.MlflowClient()
    assert client.get_run(run_id).info.status == "FINISHED"
    for key in ("loss", "val_loss", "accuracy"):
        steps = [metric.step for metric in client.get_metric_history(run_id, key)]
        assert sorted(steps) == list(range(1, EPOCHS + 1)), (key, steps)


def test_the_lock_of_a_process_killed_outright_is_gone_with_it(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from pathlib import Path\n"
         "from kerazoo.training.resume_lock import holding\n"
         "with holding(Path(sys.argv[1]), 'r1'):\n    print('held', flush=True)\n"
         "    sys.stdin.read()", str(tmp_path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline() == "held\n"
    with pytest.raises(KerazooError, match="run r1 is being resumed by another process"):
        with holding(tmp_path, "r1"):
            pass
    os.kill(holder.pid, signal.SIGKILL)
    holder.communicate()
    with holding(tmp_path, "r1"):  # no stale lock
        assert holds_flock(os.getpid(), tmp_path)
    assert not holds_flock(os.getpid(), tmp_path)  # released at the block's end
