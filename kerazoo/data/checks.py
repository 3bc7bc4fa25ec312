"""Argument checks that only data loaders need (the shared ones are in kerazoo/arguments.py).

Like those, each raises a one-line `KerazooError` that names the argument, says what is
accepted and ends with `Received: name=value`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kerazoo import arguments
from kerazoo.errors import KerazooError


def seed(value: Any) -> int:
    """NumPy's generators and scikit-learn's splits reject negative seeds; say so up front."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise arguments.fail("seed", "a non-negative integer", value)
    return value


def open_fraction(argument: str, value: Any) -> float:
    """A fraction in (0, 1): an empty validation or test split would break `fit`/`evaluate`."""
    fraction = arguments.fraction(argument, value)
    if fraction == 0:
        raise arguments.fail(argument, "a number in (0, 1)", value)
    return fraction


def split_fractions(validation_fraction: Any, test_fraction: Any) -> tuple[float, float]:
    validation = open_fraction("validation_fraction", validation_fraction)
    test = open_fraction("test_fraction", test_fraction)
    if validation + test >= 1:
        raise KerazooError(
            "`validation_fraction` + `test_fraction` must be below 1 to leave training data. "
            f"Received: validation_fraction={validation_fraction!r}, "
            f"test_fraction={test_fraction!r}"
        )
    return validation, test


def image_size(argument: str, value: Any) -> tuple[int, int]:
    """An image side (`32`) or `[height, width]`."""
    sides = arguments.shape(argument, value, ranks=(1, 2))
    return (sides[0], sides[0]) if len(sides) == 1 else sides


def optional_path(argument: str, value: Any) -> Path | None:
    """A user-given file or folder; `~` is expanded. Existence is checked by the caller, which
    knows what it expects there."""
    if value is None:
        return None
    if not isinstance(value, str | Path) or not str(value).strip():
        raise arguments.fail(argument, "a path to a file or folder", value)
    return Path(value).expanduser()
