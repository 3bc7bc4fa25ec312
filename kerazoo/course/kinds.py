"""The figure kinds lessons choose by name: generic functions with one contract,
`kind(results: dict[str, RunResult], **options) -> (matplotlib Figure, dict[str, float])`.

A plain table rather than a decorator, because the kinds come from two modules that know
nothing of lessons: the comparisons of runs (kerazoo/course/comparisons.py) and the pictures
of what one model learned (kerazoo/course/pictures.py). A name is checked here before any
run trains.
"""

from __future__ import annotations

from collections.abc import Callable

from kerazoo.course import comparisons, pictures
from kerazoo.errors import unknown_name

FigureKind = Callable[..., tuple]

FIGURE_KINDS: dict[str, FigureKind] = {function.__name__: function for function in (
    comparisons.curves,
    comparisons.bars,
    comparisons.epochs_to_reach,
    comparisons.lr_range,
    comparisons.gap,
    comparisons.speedup,
    comparisons.metric_by_value,
    comparisons.text_samples,
    comparisons.decoded_examples,
)}
if set(FIGURE_KINDS) & set(pictures.KINDS):  # a kind's name is its key: never two of one name
    raise RuntimeError(f"figure kinds named twice: {set(FIGURE_KINDS) & set(pictures.KINDS)}")
FIGURE_KINDS.update(pictures.KINDS)


def figure_kind(name: str) -> FigureKind:
    if name not in FIGURE_KINDS:
        raise unknown_name("figure kind", name, FIGURE_KINDS)
    return FIGURE_KINDS[name]
