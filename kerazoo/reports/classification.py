"""Classifiers: the confusion matrix on the test split, as a picture and as a CSV table."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from kerazoo import plots
from kerazoo.reports.context import ReportContext, ReportOutput

NAME = "confusion_matrix"
TASKS = ("classification", "binary_classification")


def applies(context: ReportContext) -> bool:
    return context.task in TASKS


def predicted_classes(probabilities: np.ndarray) -> np.ndarray:
    """Class ids from softmax rows, or from one sigmoid column (threshold 0.5)."""
    if probabilities.ndim == 1 or probabilities.shape[-1] == 1:
        return (probabilities.reshape(-1) > 0.5).astype(np.int64)
    return probabilities.argmax(axis=-1)


def confusion_counts(true: np.ndarray, predicted: np.ndarray, classes: int) -> np.ndarray:
    counts = np.zeros((classes, classes), np.int64)
    np.add.at(counts, (true, predicted), 1)
    return counts


def class_names(context: ReportContext, classes: int) -> list[str]:
    names = context.data.extras.get("class_names")
    if names is not None and len(names) == classes:
        return [str(name) for name in names]
    return [str(index) for index in range(classes)]


def write(context: ReportContext, directory: Path) -> ReportOutput:
    test = context.data.test
    predicted = predicted_classes(context.test_predictions())
    true = np.asarray(test.y).reshape(-1).astype(np.int64)
    probabilities_width = context.model.output_shape[-1]
    classes = max(2 if probabilities_width == 1 else probabilities_width,
                  int(true.max()) + 1, int(predicted.max()) + 1)
    counts = confusion_counts(true, predicted, classes)
    names = class_names(context, classes)

    context.painter.draw(directory / "confusion_matrix.png", plots.confusion_matrix, counts,
                         names)
    with open(directory / "confusion_matrix.csv", "w", newline="", encoding="utf-8") as file:
        table = csv.writer(file)
        table.writerow(["true \\ predicted", *names])
        table.writerows([names[row], *counts[row].tolist()] for row in range(classes))

    # Balanced accuracy (mean recall over the classes present): unlike accuracy it drops
    # when one class is neglected, whatever the class sizes.
    present = counts.sum(axis=1) > 0
    recalls = np.diag(counts)[present] / counts.sum(axis=1)[present]
    return ReportOutput(metrics={"balanced_accuracy": float(recalls.mean())})
