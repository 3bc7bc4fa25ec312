"""Run `kerazoo` on a disk that fills while it trains; used by tests/test_disk_full.py.

Run under `unshare --user --map-root-user --mount`: in a mount namespace of its own, as the
root of a user namespace, it mounts a real tmpfs of SIZE over WORK (visible to nothing
outside), copies STORE in as WORK/mlruns/mlflow.db, starts the command there, and once the
run has kept its first training state, fills the disk with a file until the kernel says
ENOSPC. When the command has ended, the filler is removed and what the run left is copied to
the same paths on the real disk beneath (the tmpfs unmounted), so the test reads it, and
resumes the run, at the paths the run recorded. Prints the command's exit status, stdout and
stderr as JSON.

    python tests/full_disk.py SIZE WORK STORE COMMAND...
"""

from __future__ import annotations

import errno
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def fill(path: Path) -> int:
    """Write zeros into `path` until the disk is full; the bytes written."""
    written = 0
    chunk = bytes(64 * 1024)
    with open(path, "wb", buffering=0) as file:
        while True:
            try:
                written += file.write(chunk)
            except OSError as error:
                if error.errno != errno.ENOSPC:
                    raise
                chunk = chunk[: len(chunk) // 2]  # the last pages too
                if not chunk:
                    return written


def main(size: str, work: Path, store: Path, command: list[str]) -> dict:
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(work)],
                   check=True)
    (work / "mlruns").mkdir()
    shutil.copy(store, work / "mlruns" / "mlflow.db")
    process = subprocess.Popen(command, cwd=work, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    stdout, filled = [], None
    for line in process.stdout:
        stdout.append(line)
        if filled is None and list(work.glob("mlruns/runs/*/backup/training_metadata.json")):
            filled = fill(work / "filler")
    stderr = process.stderr.read()
    process.wait()
    (work / "filler").unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(dir=work.parent) as kept:
        shutil.copytree(work, kept, symlinks=True, dirs_exist_ok=True)
        subprocess.run(["umount", str(work)], check=True)
        shutil.copytree(kept, work, symlinks=True, dirs_exist_ok=True)
    return {"returncode": process.returncode, "stdout": "".join(stdout), "stderr": stderr,
            "filled": filled}


if __name__ == "__main__":
    size, work, store, *command = sys.argv[1:]
    print(json.dumps(main(size, Path(work), Path(store), command)))
