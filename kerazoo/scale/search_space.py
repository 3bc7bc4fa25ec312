"""Search spaces for `kerazoo sweep`: `KEY=SPEC` strings read as data, never evaluated.

    model.dropout=uniform(0, 0.5)            a float in [0, 0.5]
    train.learning_rate=loguniform(1e-4, 1e-1)
    train.batch_size=int(16, 128)            an integer, bounds included; int(16, 128, 16) steps
    model.units=choice([64, 128, 256])       one of the listed values (lists allowed too)

The arguments are parsed as a YAML flow sequence by kerazoo/config/safe_yaml.py, the bounded reader
recipes use, so a spec can hold numbers, strings and lists but never code.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import yaml

from kerazoo.config import safe_yaml
from kerazoo.errors import KerazooError, did_you_mean

FORMS = ("uniform(LOW, HIGH)", "loguniform(LOW, HIGH)", "int(LOW, HIGH[, STEP])",
         "choice([A, B, ...])")
KINDS = ("uniform", "loguniform", "int", "choice")
_SPEC = re.compile(r"^\s*([A-Za-z_]\w*)\s*\((.*)\)\s*$", re.DOTALL)


class _Loader(safe_yaml.BoundedLoader):
    """Safe YAML that also reads `1e-4` as a number (YAML 1.1 wants `1.0e-4`), because that
    is how everyone writes learning rates."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)[eE][-+]?\d+$"),
    list("-+0123456789."),
)


@dataclass(frozen=True)
class Distribution:
    """One recipe key's range. `choices` holds YAML text for non-scalar values, because
    Optuna stores categorical choices as scalars only."""

    key: str
    kind: str
    spec: str
    low: float = 0.0
    high: float = 0.0
    step: int | None = None
    choices: tuple[Any, ...] = ()

    def suggest(self, trial) -> Any:
        """The value an Optuna trial picks, as the recipe should receive it."""
        if self.kind == "uniform":
            return trial.suggest_float(self.key, self.low, self.high)
        if self.kind == "loguniform":
            return trial.suggest_float(self.key, self.low, self.high, log=True)
        if self.kind == "int":
            return trial.suggest_int(self.key, int(self.low), int(self.high), step=self.step or 1)
        return from_choice(trial.suggest_categorical(self.key, self.choices))


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, bool | int | float | str)


def to_choice(value: Any) -> Any:
    """Scalars stay as they are; lists and mappings become their YAML flow text."""
    return value if _scalar(value) else yaml.safe_dump(value, default_flow_style=True).strip()


def from_choice(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "[{":
        return safe_yaml.load(value, _Loader)
    return value


def _bad(assignment: str, problem: str) -> KerazooError:
    key = assignment.partition("=")[0].strip() if "=" in assignment else ""
    return KerazooError(f"--param{' ' + key if key else ''}: {problem}; accepted: KEY=" +
                        ", KEY=".join(FORMS) + f". Received: {assignment!r}")


def _number(assignment: str, value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _bad(assignment, f"{what} must be a finite number, not {value!r}")
    return float(value)


def parse(assignment: str) -> Distribution:
    """'model.dropout=uniform(0, 0.5)' -> Distribution; a one-line KerazooError otherwise."""
    key, separator, spec = assignment.partition("=")
    key = key.strip()
    if not separator or not key or not re.fullmatch(r"[\w.]+", key):
        raise _bad(assignment, "expected a dotted recipe key, '=', then a distribution")
    match = _SPEC.match(spec)
    if not match:
        raise _bad(assignment, f"{spec.strip()!r} is not a distribution")
    spec = spec.strip()
    kind, inside = match.group(1), match.group(2)
    if kind not in KINDS:
        raise _bad(assignment, f"unknown distribution {kind!r}{did_you_mean(kind, KINDS)}")
    try:
        arguments = safe_yaml.load(f"[{inside}]", _Loader)
    except KerazooError as error:
        raise _bad(assignment, str(error)) from None
    except yaml.YAMLError:
        raise _bad(assignment, f"cannot read the arguments {inside!r}") from None
    if kind == "choice":
        if len(arguments) != 1 or not isinstance(arguments[0], list) or not arguments[0]:
            raise _bad(assignment, "choice takes one non-empty list")
        choices = tuple(to_choice(value) for value in arguments[0])
        if len(set(choices)) != len(choices):
            raise _bad(assignment, "choice lists a value twice")
        return Distribution(key, kind, spec, choices=choices)
    if not 2 <= len(arguments) <= (3 if kind == "int" else 2):
        raise _bad(assignment, f"{kind} takes {'2 or 3' if kind == 'int' else '2'} numbers")
    low, high = (_number(assignment, value, name)
                 for value, name in zip(arguments, ("LOW", "HIGH"), strict=False))
    if not low < high:
        raise _bad(assignment, f"LOW must be below HIGH, not {low:g} >= {high:g}")
    if kind == "loguniform" and low <= 0:
        raise _bad(assignment, f"loguniform needs LOW > 0, not {low:g}")
    step = None
    if kind == "int":
        if not all(isinstance(value, int) and not isinstance(value, bool)
                   for value in arguments):
            raise _bad(assignment, "int takes whole numbers")
        step = arguments[2] if len(arguments) == 3 else None
        if step is not None and step < 1:
            raise _bad(assignment, f"STEP must be a positive integer, not {step}")
    return Distribution(key, kind, spec, low, high, step)


def parse_all(assignments: list[str] | tuple[str, ...]) -> dict[str, Distribution]:
    """Parse `KEY=SPEC` strings; a later assignment to the same key wins."""
    parsed: dict[str, Distribution] = {}
    for assignment in assignments:
        distribution = parse(assignment)
        parsed[distribution.key] = distribution
    return parsed


def example_value(distribution: Distribution) -> Any:
    """A value inside the range, used to check the key against the recipe before any trial."""
    if distribution.kind == "choice":
        return from_choice(distribution.choices[0])
    if distribution.kind == "int":
        return int(distribution.low)
    return distribution.low


def probe_values(distribution: Distribution) -> list[Any]:
    """Values that stand for the whole range when checking it against the recipe: every
    choice; both ends of an integer range; the low end and the middle of a continuous one
    (its high end is a limit samples approach, e.g. uniform(0, 1) for a dropout rate)."""
    if distribution.kind == "choice":
        return [from_choice(choice) for choice in distribution.choices]
    if distribution.kind == "int":
        return [int(distribution.low), int(distribution.high)]
    if distribution.kind == "loguniform":
        return [distribution.low, (distribution.low * distribution.high) ** 0.5]
    return [distribution.low, (distribution.low + distribution.high) / 2]
