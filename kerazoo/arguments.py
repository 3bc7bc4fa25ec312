"""Checks for builder arguments.

Each raises `KerazooError` (a `ValueError`) whose message names the argument, says what is
accepted and ends with `Received: name=value`, so a recipe typo is caught before training.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import keras

from kerazoo.errors import KerazooError, did_you_mean

# Output layers compute in float32 under any dtype policy, as Keras' mixed-precision guide asks:
# a softmax or a regression output in bfloat16/float16 loses the precision the loss needs.
OUTPUT_DTYPE = "float32"


def model_name(value: Any, default: str) -> str:
    """`name=`, which every Keras model takes. Left out, a name unique in this process the way
    Keras names its own models ("mlp", then "mlp_1", ...; `keras.backend.get_uid` keeps the
    count), so two zoo models fit inside one functional model."""
    if value is None:
        uid = keras.backend.get_uid(default)
        return default if uid == 1 else f"{default}_{uid - 1}"
    if not isinstance(value, str) or not value:
        raise fail("name", "a non-empty string", value)
    return value


def fail(argument: str, accepted: str, value: Any) -> KerazooError:
    return KerazooError(f"`{argument}` must be {accepted}. Received: {argument}={value!r}")


def is_number(value: Any) -> bool:
    """A finite int or float, not a bool: NaN and infinity pass every comparison-based range
    check one way or the other, and a builder would train on them silently."""
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value))


def positive_int(argument: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise fail(argument, "a positive integer", value)
    return value


def positive_ints(argument: str, value: Any, allow_empty: bool = False) -> tuple[int, ...]:
    """A sequence of positive integers; a lone integer is taken as a one-element sequence."""
    values = (value,) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(values, Sequence) or isinstance(values, str):
        raise fail(argument, "a list of positive integers", value)
    if not values and not allow_empty:
        raise fail(argument, "a non-empty list of positive integers", value)
    if any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in values):
        raise fail(argument, "a list of positive integers", value)
    return tuple(values)


def fraction(argument: str, value: Any, *, inclusive_high: bool = False) -> float:
    """A probability-like number in [0, 1) (or [0, 1] when `inclusive_high`)."""
    high_ok = inclusive_high and value == 1
    if not is_number(value) or not (0 <= value < 1 or high_ok):
        accepted = "a number in [0, 1]" if inclusive_high else "a number in [0, 1)"
        raise fail(argument, accepted, value)
    return float(value)


def non_negative(argument: str, value: Any) -> float:
    if not is_number(value) or value < 0:
        raise fail(argument, "a non-negative number", value)
    return float(value)


def one_of(argument: str, value: Any, choices: Iterable[str]) -> str:
    choices = list(choices)
    if value not in choices:
        raise KerazooError(
            f"`{argument}` must be one of {', '.join(map(repr, choices))}"
            f"{did_you_mean(str(value), choices)}. Received: {argument}={value!r}"
        )
    return value


def shape(argument: str, value: Any, ranks: Iterable[int] = (1, 2, 3)) -> tuple[int, ...]:
    """An input shape without the batch axis, of one of the given ranks."""
    ranks = tuple(ranks)
    accepted = f"a list of {' or '.join(map(str, ranks))} positive integers"
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value,)
    if not isinstance(value, Sequence) or isinstance(value, str) or len(value) not in ranks:
        raise fail(argument, accepted, value)
    if any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in value):
        raise fail(argument, accepted, value)
    return tuple(value)


def activation(argument: str, value: Any) -> str:
    """A Keras activation given by name (names keep the model serializable)."""
    if not isinstance(value, str):
        raise fail(argument, "the name of a Keras activation, e.g. 'relu'", value)
    try:
        keras.activations.get(value)
    except (ValueError, TypeError):
        known = [name for name in dir(keras.activations)
                 if not name.startswith("_") and name not in ("get", "serialize", "deserialize")]
        raise KerazooError(
            f"`{argument}` must be the name of a Keras activation"
            f"{did_you_mean(value, known)}. Received: {argument}={value!r}"
        ) from None
    return value


def int_at_least(argument: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise fail(argument, f"an integer of at least {minimum}", value)
    return value


def positive_number(argument: str, value: Any) -> float:
    if not is_number(value) or not value > 0:
        raise fail(argument, "a positive number", value)
    return float(value)


def boolean(argument: str, value: Any) -> bool:
    # YAML already turns yes/no/true/false into booleans; anything else is a mistake.
    if not isinstance(value, bool):
        raise fail(argument, "true or false", value)
    return value


def sequence_shape(argument: str, value: Any, ranks: Iterable[int] = (1, 2)) -> tuple:
    """A sequence input shape without the batch axis: (steps,) of token ids or
    (steps, features) of numbers, where steps may be None (any length)."""
    ranks = tuple(ranks)
    accepted = (f"a list of {' or '.join(map(str, ranks))} positive integers "
                "(the first, the number of steps, may be null for any length)")
    if not isinstance(value, Sequence) or isinstance(value, str) or len(value) not in ranks:
        raise fail(argument, accepted, value)
    steps, *features = value
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int) or steps < 1):
        raise fail(argument, accepted, value)
    if any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in features):
        raise fail(argument, accepted, value)
    return tuple(value)


def l1_l2(l1: Any, l2: Any) -> keras.regularizers.Regularizer | None:
    """An L1L2 weight penalty, or None when both strengths are zero (keeps configs clean)."""
    l1 = non_negative("l1", l1)
    l2 = non_negative("l2", l2)
    return keras.regularizers.L1L2(l1=l1, l2=l2) if (l1 or l2) else None
