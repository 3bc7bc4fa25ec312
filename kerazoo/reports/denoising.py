"""Autoencoders on images: a grid of inputs, reconstructions and targets for the same test
samples (noisy / denoised / clean when the inputs are corrupted), and the mean squared
error before and after the model."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from kerazoo import plots
from kerazoo.reports.context import ReportContext, ReportOutput

NAME = "reconstructions"
TASK = "reconstruction"
COLUMNS = 10


def as_images(array: np.ndarray) -> np.ndarray | None:
    """(n, height, width[, 1 or 3]) pixels, or None when the rows are not images: flat rows
    are shown as squares when their length is a square (8x8 digits as 64 numbers)."""
    if array.ndim == 4 and array.shape[-1] in (1, 3):
        return array
    if array.ndim == 3:
        return array
    if array.ndim == 2:
        side = math.isqrt(array.shape[1])
        if side > 1 and side * side == array.shape[1]:
            return array.reshape(len(array), side, side)
    return None


def applies(context: ReportContext) -> bool:
    test = context.data.test
    if context.task != TASK or isinstance(test.x, tuple) or test.x.shape != test.y.shape:
        return False
    pixels = np.asarray(test.x[:COLUMNS])
    return as_images(pixels) is not None and pixels.min() >= 0.0 and pixels.max() <= 1.0


def write(context: ReportContext, directory: Path) -> ReportOutput:
    test = context.data.test
    inputs, targets = np.asarray(test.x), np.asarray(test.y)
    outputs = context.test_predictions()
    corrupted = not np.array_equal(inputs, targets)
    shown = slice(0, COLUMNS)
    rows = ({"noisy": inputs[shown], "denoised": outputs[shown], "clean": targets[shown]}
            if corrupted else {"input": inputs[shown], "reconstruction": outputs[shown]})
    context.painter.draw(directory / "reconstructions.png", plots.image_rows,
                         {title: np.clip(as_images(images), 0.0, 1.0)
                          for title, images in rows.items()})

    metrics = {"reconstruction_mse": float(np.mean(np.square(outputs - targets)))}
    if corrupted:  # what doing nothing scores: the model must get well under it
        metrics["noisy_input_mse"] = float(np.mean(np.square(inputs - targets)))
    return ReportOutput(metrics=metrics)
