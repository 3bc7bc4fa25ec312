"""bench/throughput.py --quick runs end to end and prints its table and final line. Only the
shape of the output is checked: the figures depend on the machine and its load."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "throughput.py"
FINAL_LINE = re.compile(r"throughput: kerazoo/best-keras min \d+\.\d\d, "
                        r"kerazoo/pytorch min (\d+\.\d\d|n/a)")


@pytest.mark.slow  # about 25 s of CPU: TensorFlow, MLflow and torch start, two rounds
@pytest.mark.timeout(300)
def test_quick_run_prints_a_row_per_contender_and_the_final_line(tmp_path):
    result = subprocess.run([sys.executable, str(BENCH), "--quick"], capture_output=True,
                            text=True, timeout=280, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.strip().splitlines()
    assert FINAL_LINE.fullmatch(lines[-1]), lines[-1]
    table = lines[next(i for i, line in enumerate(lines) if set(line) == {"-"}) + 1:-1]
    rows = [line.split() for line in table if line.startswith("mlp_digits ")]
    contenders = [" ".join(row[1:-4]) for row in rows]
    assert contenders[:3] == ["kerazoo", "keras graph", "keras graph spe 4"]
    try:
        import torch  # noqa: F401
    except ImportError:
        assert "pytorch skipped: torch is not installed" in result.stdout
    else:
        assert contenders[3:] == ["pytorch"]
    for row in rows:  # examples/s, kerazoo/this, GFLOP/s, % of peak: all numbers
        assert all(float(value) >= 0 for value in row[-4:])
    assert float(rows[0][-3]) == 1.0  # kerazoo against itself
