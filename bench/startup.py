"""Start-up cost of the CLI: `kerazoo --help` and `kerazoo list` against `python -c "import
keras"` (the floor any command that trains pays), as ratios of median wall times.

    python bench/startup.py [--repeats 7]

Neither command imports Keras, so both ratios should be well under 1. Wall times on a shared
machine vary with its load: compare ratios measured in one sitting, not figures across days.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

KERAZOO = str(Path(sys.executable).parent / "kerazoo")
COMMANDS = {
    "import keras": [sys.executable, "-c", "import keras"],
    "kerazoo --help": [KERAZOO, "--help"],
    "kerazoo list": [KERAZOO, "list"],
}


def median_seconds(command: list[str], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    repeats = parser.parse_args().repeats
    medians = {label: median_seconds(command, repeats) for label, command in COMMANDS.items()}
    floor = medians["import keras"]
    for label, seconds in medians.items():
        print(f"{label:16} {seconds:6.2f} s  ratio to import keras {seconds / floor:5.2f}")


if __name__ == "__main__":
    main()
