"""The crash course as runnable lessons (`kerazoo course`).

A lesson (kerazoo/course/lessons/*.yaml) lists the runs it compares, each a recipe with
overrides, the figures to draw from them and what to look at. `lesson.py` reads and checks
lessons, `teach.py` runs one, `kinds.py` is the table of figure kinds they choose from.
Importing this package imports neither Keras nor MLflow: listing lessons stays fast.
"""

from kerazoo.course.lesson import Lesson, find_lesson, lessons

__all__ = ["Lesson", "find_lesson", "lessons"]
