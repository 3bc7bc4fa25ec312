"""A lesson is data: a YAML file listing the runs it compares (a recipe and overrides each),
the figures to draw from them and a text template for what to look at.

Lessons ship in the package (kerazoo/course/lessons/, package data like the recipes) and are
validated into typed objects before anything trains: every run's recipe and overrides go
through `load_recipe`, every figure kind is looked up in its registry, and every run a
figure, a claim or a measured value names must be one the lesson lists. Reading the list of
lessons (`kerazoo course`) needs neither Keras nor MLflow.
"""

from __future__ import annotations

import string
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from kerazoo.config.recipe import NAME_PATTERN, format_validation_error
from kerazoo.errors import KerazooError, did_you_mean

LESSONS_DIR = Path(str(resources.files("kerazoo").joinpath("course", "lessons")))


class Measured(BaseModel):
    """A value an earlier run of the lesson measured, set into a later run's recipe: e.g. the
    learning rate the LR range test suggested, times 10. `value` is one of that run's test
    metrics or params (`lr_finder.suggestion`)."""

    model_config = ConfigDict(extra="forbid")
    run: str = Field(description="the label of an earlier run of the lesson")
    value: str = Field(description="a test metric or param that run logged")
    times: float = Field(1.0, gt=0, description="multiplied into the value")


class LessonRun(BaseModel):
    """One run the lesson compares: a recipe with `--set`-style overrides."""

    model_config = ConfigDict(extra="forbid")
    label: str = Field(description="the run's name in the lesson, its figures and numbers")
    recipe: str = Field(description="a recipe name from `kerazoo recipes`")
    set: dict[str, Any] = Field(default_factory=dict, description="dotted key -> value")
    measured: dict[str, Measured] = Field(
        default_factory=dict, description="dotted key -> a value an earlier run measured")
    smoke: dict[str, Any] = Field(default_factory=dict,
                                  description="this run's overrides under --smoke")

    @model_validator(mode="after")
    def _label_is_a_name(self) -> LessonRun:
        if not NAME_PATTERN.fullmatch(self.label):
            raise ValueError(f"label must be letters, digits and . _ - (not first). "
                             f"Received: label={self.label!r}")
        return self

    def overrides(self, lesson: Lesson, smoke: bool,
                  measured: dict[str, float] | None = None) -> list[str]:
        """The `--set` strings for `load_recipe`, in the order they apply: the lesson's
        experiment and the run's name, the lesson's settings and the run's, then smoke
        sizes, then measured values (a stand-in 1.0 before they are measured, to validate)."""
        items: dict[str, Any] = {"experiment": lesson.experiment, "name": self.label,
                                 **lesson.set, **self.set}
        if smoke:
            # A one-epoch run on a few batches would spend most of its time compiling
            # with XLA; its numbers mean nothing, so it runs uncompiled.
            items.update({"train.jit_compile": False, **lesson.smoke, **self.smoke})
        for key in self.measured:
            items[key] = (measured or {}).get(key, 1.0)
        return [f"{key}={_yaml_value(value)}" for key, value in items.items()]


class FigureSpec(BaseModel):
    """A figure kind from the registry (kerazoo/course/kinds.py) and its options."""

    model_config = ConfigDict(extra="forbid")
    kind: str
    runs: list[str] | None = Field(None, description="the labels it draws (default: all)")
    options: dict[str, Any] = Field(default_factory=dict)
    smoke: dict[str, Any] = Field(default_factory=dict,
                                  description="options that replace these under --smoke")
    prefix: str = Field("", description="put before the numbers it measures that are not "
                        "about one of its runs (those start with the run's label already), "
                        "when two figures of a kind measure the same thing of different runs")

    def named(self, numbers: dict[str, float], labels: list[str]) -> dict[str, float]:
        return {name if any(name.startswith(f"{label}_") for label in labels)
                else f"{self.prefix}{name}": value for name, value in numbers.items()}


class Claim(BaseModel):
    """What the lesson claims, held by the slow test at full size: `number` compared with
    another number or a constant, `number > factor * above + by` (or `< ... below ...`)."""

    model_config = ConfigDict(extra="forbid")
    number: str
    above: str | float | None = None
    below: str | float | None = None
    factor: float = 1.0
    by: float = 0.0

    @model_validator(mode="after")
    def _one_side(self) -> Claim:
        if (self.above is None) == (self.below is None):
            raise ValueError("a claim takes exactly one of `above` and `below`")
        return self

    def holds(self, numbers: dict[str, float]) -> tuple[bool, str]:
        """Whether it holds for these numbers, and the comparison written out."""
        other = self.above if self.above is not None else self.below
        reference = numbers[other] if isinstance(other, str) else float(other)
        bound = self.factor * reference + self.by
        value = numbers[self.number]
        sign = ">" if self.above is not None else "<"
        held = value > bound if sign == ">" else value < bound
        return held, f"{self.number}={value:.4g} {sign} {bound:.4g} ({other})"

    def names(self) -> list[str]:
        return [self.number, *(side for side in (self.above, self.below)
                               if isinstance(side, str))]


class Lesson(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    order: int = Field(description="its place in the course (the seed notebook's order)")
    topic: str
    compares: str = Field(description="what it compares, in a line")
    papers: list[str] = Field(default_factory=list)
    runs: list[LessonRun] = Field(min_length=1)
    set: dict[str, Any] = Field(default_factory=dict,
                                description="overrides for every run, before its own")
    smoke: dict[str, Any] = Field(default_factory=dict,
                                  description="overrides for every run under --smoke")
    figures: list[FigureSpec] = Field(min_length=1)
    look_at: str = Field(description="what to look at: a template filled with the numbers "
                                     "the figures measured, e.g. {mlp_val_accuracy:.3f}")
    claims: list[Claim] = Field(default_factory=list)

    @property
    def experiment(self) -> str:
        return f"course-{self.name}"

    @property
    def labels(self) -> list[str]:
        return [run.label for run in self.runs]

    def template_names(self) -> list[str]:
        """The numbers `look_at` names."""
        return [field.split(".")[0].split("[")[0]
                for _, field, _, _ in string.Formatter().parse(self.look_at) if field]

    def text(self, numbers: dict[str, float]) -> str:
        """`look_at` with the numbers filled in, each paragraph on one line (the YAML's line
        breaks are for the file's reader)."""
        filled = self.look_at.format_map(numbers).strip()
        return "\n\n".join(" ".join(paragraph.split()) for paragraph in filled.split("\n\n"))


def _yaml_value(value: Any) -> str:
    """A value as `--set` reads it back (YAML flow style, one line)."""
    import yaml

    return yaml.safe_dump(value, default_flow_style=True, width=10**6).strip().removesuffix(
        "\n...").removesuffix("...").strip()


# --- finding and reading lessons ---------------------------------------------------------------

def lesson_files() -> dict[str, Path]:
    return {path.stem: path for path in sorted(LESSONS_DIR.glob("*.yaml"))}


def read_lesson(path: Path) -> Lesson:
    """Parse and validate the lesson's own schema (not yet its recipes or figure kinds)."""
    from kerazoo.config.recipe import read_yaml

    data = read_yaml(path)
    data.setdefault("name", path.stem)
    try:
        lesson = Lesson.model_validate(data)
    except ValidationError as error:
        raise KerazooError(format_validation_error(error, path.stem).replace(
            "recipe ", "lesson ", 1)) from None
    _check_references(lesson)
    return lesson


def _check_references(lesson: Lesson) -> None:
    labels = lesson.labels
    where = f"lesson {lesson.name!r}"
    if len(set(labels)) != len(labels):
        raise KerazooError(f"{where}: runs: labels must be distinct. Received: {labels}")
    for index, run in enumerate(lesson.runs):
        for key, measured in run.measured.items():
            if measured.run not in labels[:index]:
                raise KerazooError(f"{where}: runs.{index}.measured.{key}: run must be an "
                                   f"earlier run's label{did_you_mean(measured.run, labels)}; "
                                   f"accepted: {', '.join(labels[:index]) or 'none'}. "
                                   f"Received: run={measured.run!r}")
    for index, figure in enumerate(lesson.figures):
        for label in figure.runs or ():
            if label not in labels:
                raise KerazooError(f"{where}: figures.{index}.runs: unknown run {label!r}"
                                   f"{did_you_mean(label, labels)}; accepted: "
                                   f"{', '.join(labels)}")


def lessons() -> list[Lesson]:
    """Every lesson, in the course's order."""
    return sorted((read_lesson(path) for path in lesson_files().values()),
                  key=lambda lesson: lesson.order)


def find_lesson(name: str) -> Lesson:
    files = lesson_files()
    if name not in files:
        ordered = [lesson.name for lesson in lessons()]
        raise KerazooError(f"unknown lesson {name!r}{did_you_mean(name, ordered)}; accepted: "
                           f"{', '.join(ordered)}")
    return read_lesson(files[name])


def check_lesson(lesson: Lesson, smoke: bool) -> None:
    """Everything that can be checked before training: each run's recipe with its overrides
    (through `load_recipe`, so a bad key is named as `kerazoo run` names it) and each figure
    kind. Imports the registries, hence Keras."""
    from kerazoo.config.recipe import load_recipe
    from kerazoo.course.kinds import figure_kind

    for index, run in enumerate(lesson.runs):
        try:
            load_recipe(run.recipe, run.overrides(lesson, smoke), smoke=smoke)
        except KerazooError as error:
            raise KerazooError(f"lesson {lesson.name!r}: runs.{index} ({run.label}): "
                               f"{error}") from None
    for index, figure in enumerate(lesson.figures):
        try:
            figure_kind(figure.kind)
        except KerazooError as error:
            raise KerazooError(f"lesson {lesson.name!r}: figures.{index}: {error}") from None
