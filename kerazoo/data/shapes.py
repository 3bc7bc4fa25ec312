"""Procedural shapes: circles, squares, triangles and crosses on small colour canvases.

An image task for CNNs that needs no download, of any size, the same bytes for a seed. Each
shape gets a random position, size, rotation, foreground and background colour, and pixel
noise, so no single pixel or colour statistic gives the class away: a model has to see form.

Rendering is vectorized: every pixel's coordinates are moved into each shape's own frame
(centred, unrotated, unit size) and a signed distance to the outline is computed there, which
also gives anti-aliased edges for free. 10 000 32×32 images take well under a second.
"""

from __future__ import annotations

import numpy as np

from kerazoo import arguments
from kerazoo.data import checks
from kerazoo.data.splits import DataSplits, split_three_ways
from kerazoo.registry import register_data

CLASS_NAMES = ["circle", "square", "triangle", "cross"]
# Each outline is drawn inside a unit disc or a little beyond (triangle corners reach 1.2), so
# centres are kept this many radii from the border and every shape stays whole.
EXTENT = 1.2
# Half-sizes in units of the radius, chosen so the four shapes cover similar areas (2.0 to
# 2.6 squared radii): area alone must not tell them apart.
CIRCLE_RADIUS = 0.9
SQUARE_HALF_SIDE = 0.8
TRIANGLE_INRADIUS = 0.6  # circumradius 1.2
CROSS_ARM, CROSS_HALF_WIDTH = 1.0, 0.3
# Rows rendered at once: bounds the temporaries (a few arrays of CHUNK × height × width).
CHUNK = 2048


def _signed_distance(label: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Distance to the outline in radius units (negative inside), in the shape's own frame."""
    if label == 0:
        return np.hypot(u, v) - CIRCLE_RADIUS
    if label == 1:
        return np.maximum(np.abs(u), np.abs(v)) - SQUARE_HALF_SIDE
    if label == 2:
        # Inside all three edges; the outward edge normals point at -90°, 30° and 150°.
        angles = np.deg2rad([-90.0, 30.0, 150.0])
        return np.max([np.cos(a) * u + np.sin(a) * v for a in angles], axis=0) \
            - TRIANGLE_INRADIUS
    horizontal = np.maximum(np.abs(u) - CROSS_ARM, np.abs(v) - CROSS_HALF_WIDTH)
    vertical = np.maximum(np.abs(u) - CROSS_HALF_WIDTH, np.abs(v) - CROSS_ARM)
    return np.minimum(horizontal, vertical)


def render(labels: np.ndarray, generator: np.random.Generator, height: int, width: int,
           min_size: float, max_size: float, noise: float) -> np.ndarray:
    """float32 images (n, height, width, 3) in [0, 1] of the shapes `labels` name."""
    count = len(labels)
    side = min(height, width)
    radius = generator.uniform(min_size, max_size, count) * side / 2  # pixels
    margin = EXTENT * radius
    centre_x = generator.uniform(margin, width - margin)
    centre_y = generator.uniform(margin, height - margin)
    angle = generator.uniform(0.0, 2 * np.pi, count)
    foreground = generator.uniform(0.0, 1.0, (count, 3))
    # Every channel of the background differs from the foreground's by at least 0.35, so
    # the shape is always visible whatever the colours.
    background = (foreground + generator.uniform(0.35, 0.65, (count, 3))) % 1.0
    radius, centre_x, centre_y, angle, foreground, background = (
        array.astype(np.float32)
        for array in (radius, centre_x, centre_y, angle, foreground, background))

    rows, columns = np.mgrid[0:height, 0:width].astype(np.float32) + 0.5  # pixel centres
    images = np.empty((count, height, width, 3), np.float32)
    for start in range(0, count, CHUNK):
        part = slice(start, min(start + CHUNK, count))
        r = radius[part, None, None]
        dx = (columns - centre_x[part, None, None]) / r
        dy = (rows - centre_y[part, None, None]) / r
        cos, sin = np.cos(angle[part, None, None]), np.sin(angle[part, None, None])
        u, v = cos * dx + sin * dy, cos * dy - sin * dx
        distance = np.empty_like(u)
        for label in range(len(CLASS_NAMES)):
            mine = labels[part] == label
            distance[mine] = _signed_distance(label, u[mine], v[mine])
        # Coverage of each pixel by the shape: 1 inside, 0 outside, a one-pixel ramp across
        # the outline (the distance converted to pixels) instead of a jagged edge.
        coverage = np.clip(0.5 - distance * r, 0.0, 1.0)[..., None]
        mixed = (background[part, None, None] * (1 - coverage)
                 + foreground[part, None, None] * coverage)
        if noise:
            # Drawn chunk by chunk, after all shape parameters, so memory stays bounded and
            # the bytes still depend on the seed alone.
            mixed = mixed + noise * generator.standard_normal(mixed.shape, dtype=np.float32)
        images[part] = np.clip(mixed, 0.0, 1.0)
    return images


@register_data
def shapes(seed=0, samples=6000, image_size=32, min_size=0.3, max_size=0.7, noise=0.05,
           validation_fraction=0.15, test_fraction=0.15) -> DataSplits:
    """`samples` images of size `image_size` (a side or [height, width]) × 3 channels, the
    four classes exactly balanced. `min_size`/`max_size`: the shape's diameter as a fraction
    of the shorter side. `noise`: standard deviation of Gaussian pixel noise."""
    seed = checks.seed(seed)
    # enough for every split to hold every shape
    samples = arguments.int_at_least("samples", samples, 20)
    height, width = checks.image_size("image_size", image_size)
    if min(height, width) < 8:
        raise arguments.fail("image_size", "at least 8 pixels a side", image_size)
    min_size = checks.open_fraction("min_size", min_size)
    max_size = arguments.fraction("max_size", max_size, inclusive_high=True)
    if max_size < min_size or max_size * EXTENT > 1:
        raise arguments.fail("max_size", f"between min_size ({min_size}) and {1 / EXTENT:.3f} "
                             "(larger shapes would leave the canvas)", max_size)
    noise = arguments.non_negative("noise", noise)
    validation_fraction, test_fraction = checks.split_fractions(validation_fraction,
                                                                test_fraction)
    generator = np.random.default_rng(seed)
    labels = generator.permutation(np.arange(samples) % len(CLASS_NAMES)).astype(np.int32)
    images = render(labels, generator, height, width, min_size, max_size, noise)
    train, validation, test = split_three_ways(images, labels, seed, validation_fraction,
                                               test_fraction)
    return DataSplits(
        name="shapes",
        source=f"kerazoo procedural shapes ({samples} images {height}x{width}, seed {seed})",
        train=train, validation=validation, test=test,
        model_hints={"input_shape": (height, width, 3), "num_classes": len(CLASS_NAMES)},
        extras={"class_names": CLASS_NAMES},
    )
