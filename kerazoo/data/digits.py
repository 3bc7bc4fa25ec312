"""scikit-learn's bundled handwritten digits: 1 797 8×8 images, no network needed."""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from sklearn.datasets import load_digits

from kerazoo import arguments
from kerazoo.data import checks
from kerazoo.data.splits import DataSplits, Split, split_three_ways
from kerazoo.registry import register_data

SOURCE = "sklearn.datasets.load_digits (bundled with scikit-learn)"
CLASS_NAMES = [str(digit) for digit in range(10)]
TARGETS = ("labels", "images")


def digit_images(image_size: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """All 1 797 digits as (n, size, size) float32 pixels in [0, 1], and their labels."""
    bunch = load_digits()
    pixels = (bunch.images / 16.0).astype(np.float32)  # raw pixels are 0..16
    if image_size != 8:
        # SciPy rather than keras.ops.image.resize: the same bytes on every Keras backend,
        # so a run's data fingerprint does not depend on the backend.
        factor = image_size / 8
        pixels = ndimage.zoom(pixels, (1, factor, factor), order=1, mode="nearest",
                              grid_mode=True)
        pixels = np.clip(pixels, 0.0, 1.0)
    return pixels, bunch.target.astype(np.int32)


def add_noise(pixels: np.ndarray, noise: float, seed: int) -> np.ndarray:
    """Gaussian pixel noise, clipped back to [0, 1]; fixed per sample for a seed, so the
    denoising task is the same in every run with that seed."""
    if not noise:
        return pixels
    generator = np.random.default_rng([seed, 1])  # a stream apart from the split's
    noisy = pixels + generator.normal(0.0, noise, pixels.shape).astype(np.float32)
    return np.clip(noisy, 0.0, 1.0)


def model_arrays(pixels: np.ndarray, image: bool) -> np.ndarray:
    """(n, size, size, 1) images for convolutional models, or flat vectors."""
    return pixels[..., None] if image else pixels.reshape(len(pixels), -1)


def image_splits(clean: np.ndarray, noisy: np.ndarray, labels: np.ndarray,
                 positions: tuple[np.ndarray, ...], image: bool, targets: str) -> list[Split]:
    """Splits at the given row positions; targets are the labels or the clean images."""
    splits = []
    for rows in positions:
        x = model_arrays(noisy[rows], image)
        if targets == "labels":
            splits.append(Split(x, labels[rows]))
        else:
            splits.append(Split(x, model_arrays(clean[rows], image), {"label": labels[rows]}))
    return splits


def check_image_options(image_size, noise, image) -> tuple[int, float, bool]:
    image_size = arguments.int_at_least("image_size", image_size, 8)  # only upsampling is offered
    noise = arguments.non_negative("noise", noise)
    image = arguments.boolean("image", image)
    return image_size, noise, image


@register_data
def digits(seed=0, validation_fraction=0.15, test_fraction=0.15, image=False, image_size=8,
           targets="labels", noise=0.0) -> DataSplits:
    """Pixels in [0, 1]: flat vectors, or size×size×1 images when `image` is true.

    `image_size` > 8 upsamples bilinearly (for CNNs that need room to pool). `targets`:
    "labels" (class ids, for classifiers) or "images" (the clean images, for autoencoders;
    each split's `info["label"]` keeps the digit). `noise` adds Gaussian noise of that
    standard deviation to the inputs only: with `targets="images"` that is a denoising task.
    """
    seed = checks.seed(seed)
    validation_fraction, test_fraction = checks.split_fractions(validation_fraction,
                                                                test_fraction)
    image_size, noise, image = check_image_options(image_size, noise, image)
    targets = arguments.one_of("targets", targets, TARGETS)
    clean, labels = digit_images(image_size)
    noisy = add_noise(clean, noise, seed)
    rows = split_three_ways(np.arange(len(labels)), labels, seed, validation_fraction,
                            test_fraction)
    train, validation, test = image_splits(clean, noisy, labels, tuple(s.x for s in rows),
                                           image, targets)
    hints = {"input_shape": train.x.shape[1:]}
    if targets == "labels":
        hints["num_classes"] = 10
    source = SOURCE if image_size == 8 else f"{SOURCE}, upsampled to {image_size}x{image_size}"
    return DataSplits(
        name="digits", source=source, train=train, validation=validation, test=test,
        model_hints=hints, extras={"class_names": CLASS_NAMES},
    )
