"""Whether a SQLite tracking store is whole, found before any run starts.

A store damaged in its middle pages (a disk error, a copy cut short, a file edited by hand)
still opens, and MLflow's first query reads only the pages it needs, so the store looks
usable until the first metric is written: then every write fails, the run cannot be ended,
and it stays RUNNING with nothing logged. SQLite's own `PRAGMA quick_check` reads every page
of every table and index and checks their structure (not that indexes match their tables,
which `integrity_check` adds at eight times the cost). On a store of 300 runs (90,000 metric
rows, 21 MB) it took 23 ms against integrity_check's 180 ms, on a loaded 2-core machine; a run
makes about 30 store round trips of 1-2 ms, so the check is a small share of starting one.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from kerazoo.errors import KerazooError


def check_store_intact(path: Path) -> None:
    """One line naming `path` and what to do, unless SQLite finds the database whole."""
    try:
        # Read-only: a check must not change the file it checks (nor create it).
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True,
                                                timeout=30)) as connection:
            problems = [row[0] for row in connection.execute("PRAGMA quick_check")]
    except sqlite3.OperationalError:
        return  # locked, or cannot be opened: MLflow's own first query says so
    except sqlite3.DatabaseError as error:  # a header SQLite cannot read at all
        problems = [str(error)]
    if problems != ["ok"]:
        first = " ".join(str(problems[0]).replace("*** in database main ***", "").split())
        raise KerazooError(
            f"the tracking store {str(path)!r} is damaged (SQLite quick_check: {first[:200]}"
            f"{'; ...' if len(problems) > 1 else ''}); restore it from a copy, or move it "
            f"aside (to {path.name}.damaged) to start a new store; `sqlite3 "
            f"{path.name} .recover` may save what is readable")
