"""Run a lesson: its runs nested under one parent run, then its figures, numbers and text.

Each run is an ordinary kerazoo run (`run_recipe`), in the lesson's experiment
(`course-NAME`, `course-NAME-smoke` under --smoke, as smoke runs of recipes go apart), not
registered. The parent run logs what the lesson is about: the figures (figures/*.png), the
numbers they measured (as metrics), the text of what to look at with those numbers filled
in (lesson.md, and the run's description in the UI) and the lesson file itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from kerazoo import plots
from kerazoo.config.recipe import load_recipe
from kerazoo.course.clock import TrainingClock
from kerazoo.course.kinds import figure_kind
from kerazoo.course.lesson import LESSONS_DIR, Lesson, LessonRun, Measured, check_lesson
from kerazoo.errors import KerazooError
from kerazoo.tracking import runs as tracking
from kerazoo.training import interrupts
from kerazoo.training.runner import RunResult, run_recipe


@dataclass
class LessonResult:
    lesson: Lesson
    run_id: str
    experiment: str
    experiment_id: str
    numbers: dict[str, float]
    text: str
    results: dict[str, RunResult] = field(default_factory=dict)
    figures: list[str] = field(default_factory=list)  # artifact paths on the parent run
    seconds: dict[str, float] = field(default_factory=dict)  # each run's wall time


def measured_value(result: RunResult, label: str, measured: Measured) -> float:
    """A number an earlier run measured: one of its test metrics, else one of its params."""
    if measured.value in result.metrics:
        value = result.metrics[measured.value]
    else:
        params = tracking.find_run(result.run_id).data.params
        if measured.value not in params:
            raise KerazooError(f"run {label!r} measured no {measured.value!r}; its metrics: "
                               f"{', '.join(result.metrics)}; its params include "
                               f"{', '.join(sorted(params)[:20])}")
        value = float(params[measured.value])
    return float(value) * measured.times


def run_lesson(lesson: Lesson, *, smoke: bool = False, tracking_uri: str | None = None,
               verbose: int | str = 0,
               announce: Callable[[str], None] = lambda line: None) -> LessonResult:
    """Check the whole lesson, train its runs in order, draw and log its figures; a bad
    override or figure kind fails before any run exists."""
    check_lesson(lesson, smoke)
    uri = tracking.tracking_uri(tracking_uri)
    tracking.prepare_store(uri)
    experiment = tracking.experiment_for(lesson.experiment, smoke)
    tracking.check_experiment(experiment)
    tags = {"kerazoo.course.lesson": lesson.name, "kerazoo.smoke": str(smoke).lower()}
    results: dict[str, RunResult] = {}
    seconds: dict[str, float] = {}
    with interrupts.signals_as_interrupt(), tracking.TrackedRun(
            experiment, run_name=f"lesson {lesson.name}", uri=uri,
            tags={**tags, "kerazoo.course.role": "lesson"}) as parent:
        parent.log_params({"lesson": lesson.name, "topic": lesson.topic,
                           "runs": ", ".join(lesson.labels)})
        parent.log_artifact(LESSONS_DIR / f"{lesson.name}.yaml")
        for index, run in enumerate(lesson.runs, start=1):
            announce(f"lesson {lesson.name}: run {index}/{len(lesson.runs)} {run.label} "
                     f"(recipe {run.recipe})")
            started = time.perf_counter()
            results[run.label] = _train(lesson, run, results, smoke, uri, verbose,
                                        parent.run_id, tags)
            seconds[run.label] = time.perf_counter() - started
        # Each run's wall time (setup, training, evaluation, logging) and model size.
        numbers: dict[str, float] = {f"{label}_wall_seconds": value
                                     for label, value in seconds.items()}
        numbers.update({f"{label}_parameters": float(result.model.count_params())
                        for label, result in results.items()})
        figures = []
        for index, spec in enumerate(lesson.figures, start=1):
            chosen = {label: results[label] for label in (spec.runs or lesson.labels)}
            options = {**spec.options, **(spec.smoke if smoke else {})}
            figure, measured = figure_kind(spec.kind)(chosen, **options)
            measured = spec.named(measured, list(chosen))
            path = f"figures/{index}_{spec.kind}.png"
            parent.log_figure(figure, path, plots.SAVE_OPTIONS)
            plots.close(figure)
            figures.append(path)
            repeated = sorted(set(measured) & set(numbers))
            if repeated:  # a mistake in the lesson file, found by its smoke test
                raise KerazooError(f"lesson {lesson.name!r}: figures.{index - 1} measures "
                                   f"numbers measured already: {', '.join(repeated)}")
            numbers.update(measured)
        text = _fill(lesson, numbers)
        parent.log_metrics(numbers, step=0, flush=True)
        parent.log_text(lesson_page(lesson, text, numbers, results, smoke), "lesson.md")
        parent.set_tags({"mlflow.note.content": text})
    return LessonResult(lesson, parent.run_id, experiment, parent.experiment_id, numbers, text,
                        results, figures, seconds)


def _train(lesson: Lesson, run: LessonRun, earlier: dict[str, RunResult], smoke: bool,
           uri: str, verbose: int | str, parent_run_id: str,
           tags: dict[str, str]) -> RunResult:
    values = {key: measured_value(earlier[measured.run], measured.run, measured)
              for key, measured in run.measured.items()}
    recipe = load_recipe(run.recipe, run.overrides(lesson, smoke, values), smoke=smoke)
    return run_recipe(recipe, smoke=smoke, tracking_uri=uri, verbose=verbose,
                      extra_callbacks=[TrainingClock()], parent_run_id=parent_run_id,
                      tags={**tags, "kerazoo.course.run": run.label,
                            "kerazoo.course.recipe": run.recipe}, register=False)


def _fill(lesson: Lesson, numbers: dict[str, float]) -> str:
    missing = sorted(set(lesson.template_names()) - set(numbers))
    if missing:  # a mistake in the lesson file, found by its smoke test
        raise KerazooError(f"lesson {lesson.name!r}: look_at names numbers no figure "
                           f"measured: {', '.join(missing)}; measured: "
                           f"{', '.join(sorted(numbers))}")
    return lesson.text(numbers)


def lesson_page(lesson: Lesson, text: str, numbers: dict[str, float],
                results: dict[str, RunResult], smoke: bool) -> str:
    """lesson.md: what the lesson compares, what to look at, the numbers and the runs."""
    lines = [f"# Lesson {lesson.order}: {lesson.topic}", "",
             f"`kerazoo course {lesson.name}{' --smoke' if smoke else ''}`: {lesson.compares}",
             "", "## What to look at", "", text, "", "## Numbers", "",
             "| number | value |", "|---|---|"]
    lines += [f"| {name} | {value:.6g} |" for name, value in sorted(numbers.items())]
    lines += ["", "## Runs", ""]
    for run in lesson.runs:
        settings = ", ".join(f"{key}={value}" for key, value in run.set.items())
        lines.append(f"- {run.label}: recipe {run.recipe}"
                     f"{f' with {settings}' if settings else ''}"
                     f" (run {results[run.label].run_id})")
    if lesson.papers:
        lines += ["", "## Papers", "", *(f"- {paper}" for paper in lesson.papers)]
    return "\n".join(lines) + "\n"
