"""Two classes of points in the plane that no straight line separates: the data on which a
linear model visibly fails and a small MLP visibly succeeds, drawn as decision boundaries.

Moons and circles come from scikit-learn's generators; spirals (two interleaved arms, the
classic hard case of TensorFlow Playground) are generated here, since scikit-learn has none.
Every shape is scaled into the square [-EXTENT, EXTENT]², so one picture frame fits them all
and the features need no standardization.
"""

from __future__ import annotations

import numpy as np
from sklearn import datasets

from kerazoo import arguments
from kerazoo.data import checks
from kerazoo.data.splits import DataSplits, split_three_ways
from kerazoo.registry import register_data

SHAPES = ("moons", "circles", "spirals")
# Half the side of the square the points are scaled into; the plotting extent adds a margin.
EXTENT = 1.0
MARGIN = 0.25
CLASS_NAMES = ["0", "1"]


def spirals(samples: int, noise: float, generator: np.random.Generator):
    """Two arms winding 1.5 turns around the origin, the second the first turned by half a
    turn; `noise` is the standard deviation of Gaussian jitter added to each point."""
    labels = np.arange(samples) % 2
    # sqrt spreads points evenly along the arm rather than crowding them at the centre.
    progress = np.sqrt(generator.uniform(0.0, 1.0, samples))
    angle = 3.0 * np.pi * progress + np.pi * labels
    points = np.stack([progress * np.cos(angle), progress * np.sin(angle)], axis=1)
    return points + generator.normal(0.0, noise, points.shape), labels


def generate(shape: str, samples: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`samples` points of `shape` with their 0/1 labels, before scaling."""
    if shape == "moons":
        return datasets.make_moons(samples, noise=noise, random_state=seed)
    if shape == "circles":
        # factor 0.5: the inner circle half the outer's radius, a clear ring between them.
        return datasets.make_circles(samples, noise=noise, factor=0.5, random_state=seed)
    return spirals(samples, noise, np.random.default_rng(seed))


@register_data
def planar(seed=0, shape="moons", samples=1000, noise=0.1, validation_fraction=0.15,
           test_fraction=0.15) -> DataSplits:
    """`samples` float32 points (x₁, x₂) in [-1, 1]² of two balanced classes shaped as
    `shape` ("moons", "circles" or "spirals"); `noise` is the Gaussian jitter before scaling.
    `extras["extent"]` is (x_min, x_max, y_min, y_max) of the square pictures should show."""
    seed = checks.seed(seed)
    shape = arguments.one_of("shape", shape, SHAPES)
    samples = arguments.int_at_least("samples", samples, 20)  # a few of each class per split
    noise = arguments.non_negative("noise", noise)
    validation_fraction, test_fraction = checks.split_fractions(validation_fraction,
                                                                test_fraction)
    points, labels = generate(shape, samples, noise, seed)
    # Centre, then scale the largest coordinate to EXTENT: the same frame for every shape.
    points = points - (points.max(axis=0) + points.min(axis=0)) / 2
    points = (EXTENT * points / np.abs(points).max()).astype(np.float32)
    labels = labels.astype(np.int32)
    train, validation, test = split_three_ways(points, labels, seed, validation_fraction,
                                               test_fraction)
    side = EXTENT + MARGIN
    return DataSplits(
        name="planar",
        source=f"kerazoo planar generator ({samples} {shape} points, noise {noise:g}, "
               f"seed {seed})",
        train=train, validation=validation, test=test,
        model_hints={"input_shape": (2,), "num_classes": 2},
        extras={"class_names": CLASS_NAMES, "shape": shape, "extent": (-side, side, -side, side)},
    )
