"""A user's own images, one subfolder per class (`path/cats/*.jpg`, `path/dogs/*.jpg`).

Read with `keras.utils.image_dataset_from_directory` (resized to `image_size`) and
materialized as arrays, so they split, hash and shuffle like every other loader's data. That
suits folders up to some thousands of images; `max_images` guards against loading a huge
folder into memory by accident.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from kerazoo import arguments
from kerazoo.data import checks
from kerazoo.data.splits import DataSplits, split_three_ways
from kerazoo.errors import KerazooError
from kerazoo.registry import register_data

# The formats image_dataset_from_directory decodes.
IMAGE_SUFFIXES = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
COLOR_MODES = {"rgb": 3, "grayscale": 1, "rgba": 4}


def count_images(folder: Path) -> dict[str, int]:
    """Images per class subfolder (subfolders searched recursively, hidden ones skipped)."""
    counts = {}
    for subfolder in sorted(entry for entry in folder.iterdir()
                            if entry.is_dir() and not entry.name.startswith(".")):
        counts[subfolder.name] = sum(
            name.lower().endswith(IMAGE_SUFFIXES)
            for _, _, names in os.walk(subfolder) for name in names)
    return counts


def check_folder(path: Path, max_images: int) -> dict[str, int]:
    layout = "a folder with one subfolder of images per class, e.g. PATH/cats/1.jpg"
    if not path.is_dir():
        what = "does not exist" if not path.exists() else "is not a folder"
        raise KerazooError(f"image folder {str(path)!r} {what}; expected {layout}")
    counts = count_images(path)
    total = sum(counts.values())
    if total == 0:
        raise KerazooError(f"image folder {str(path)!r} has no images "
                           f"({', '.join(IMAGE_SUFFIXES)}) in class subfolders; expected {layout}")
    if total < 3:
        raise KerazooError(f"image folder {str(path)!r} holds {total} image(s); train, "
                           "validation and test need at least one each")
    if total > max_images:
        raise KerazooError(f"image folder {str(path)!r} holds {total} images, more than "
                           f"`max_images`; raise it if they fit in memory. "
                           f"Received: max_images={max_images}")
    return {name: count for name, count in counts.items() if count}


def read_images(path: Path, height: int, width: int, color_mode: str):
    """All images as float32 in [0, 1], their int32 labels, and the class names."""
    import keras

    dataset = keras.utils.image_dataset_from_directory(
        path, labels="inferred", label_mode="int", color_mode=color_mode, batch_size=256,
        image_size=(height, width), shuffle=False, verbose=False)
    images, labels = [], []
    try:
        for batch_images, batch_labels in dataset.as_numpy_iterator():
            images.append(batch_images)
            labels.append(batch_labels)
    except Exception as error:  # TensorFlow reports an undecodable file as a runtime error
        message = " ".join(str(error).split())
        raise KerazooError(f"cannot decode an image in {str(path)!r}: {message[:200]}") from None
    return (np.concatenate(images).astype(np.float32) / 255.0,
            np.concatenate(labels).astype(np.int32), list(dataset.class_names))


@register_data
def image_folder(seed=0, path=None, image_size=64, color_mode="rgb", max_images=10000,
                 validation_fraction=0.15, test_fraction=0.15) -> DataSplits:
    """Images of `path`'s class subfolders (class names: the subfolder names, in sorted
    order), resized to `image_size` (a side or [height, width]), float32 in [0, 1]."""
    seed = checks.seed(seed)
    path = checks.optional_path("path", path)
    if path is None:
        raise KerazooError("data loader 'image_folder' needs `path`, a folder with one "
                           "subfolder of images per class, e.g. --set data.path=photos. "
                           "Received: path=None")
    height, width = checks.image_size("image_size", image_size)
    color_mode = arguments.one_of("color_mode", color_mode, COLOR_MODES)
    max_images = arguments.positive_int("max_images", max_images)
    validation_fraction, test_fraction = checks.split_fractions(validation_fraction,
                                                                test_fraction)
    counts = check_folder(path, max_images)
    images, labels, class_names = read_images(path, height, width, color_mode)
    train, validation, test = split_three_ways(images, labels, seed, validation_fraction,
                                               test_fraction)
    return DataSplits(
        name="image_folder",
        source=f"{path.resolve()} ({sum(counts.values())} images, {len(class_names)} classes)",
        train=train, validation=validation, test=test,
        model_hints={"input_shape": (height, width, COLOR_MODES[color_mode]),
                     "num_classes": len(class_names)},
        extras={"class_names": class_names},
    )
