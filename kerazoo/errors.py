"""User-facing errors.

A `KerazooError` is a mistake in what the user asked for (a name, a value, a path), not a bug.
The CLI prints its message as one line and exits with status 2; everything else is a bug and
keeps its traceback. It subclasses `ValueError` so plain-Python callers can catch it as usual.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class KerazooError(ValueError):
    """A user mistake; its message is one line naming the bad value and what is accepted."""


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite: the run ends FAILED with this as its reason."""


class WorkerFailed(RuntimeError):
    """A training worker process died: the run ends FAILED with this one line as its reason."""


class TrackingLost(RuntimeError):
    """The tracking store stopped taking a run's metrics (a server gone, a disk full): the
    run stops, its training state kept at the last epoch whose metrics are in the store."""


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """A ' (did you mean 'x'?)' suffix for `name`, or '' when nothing is close."""
    matches = difflib.get_close_matches(str(name), list(choices), n=3, cutoff=0.6)
    if not matches:
        return ""
    return " (did you mean " + " or ".join(repr(match) for match in matches) + "?)"


def unknown_name(kind: str, name: str, choices: Iterable[str]) -> KerazooError:
    """The error for a name missing from a registry, with close matches and the accepted names."""
    choices = sorted(choices)
    accepted = ", ".join(choices) if len(choices) <= 30 else ", ".join(choices[:30]) + ", ..."
    return KerazooError(
        f"unknown {kind} {name!r}{did_you_mean(name, choices)}; accepted: {accepted}"
    )
