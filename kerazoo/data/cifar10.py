"""CIFAR-10: 60 000 32×32 colour images in 10 classes, used when present.

Read from the Python-pickle batches (data_batch_1..5, test_batch) in the folder Keras 3
extracts them to, ~/.keras/datasets/cifar-10-batches-py-target/cifar-10-batches-py/, or the
one older Keras used, ~/.keras/datasets/cifar-10-batches-py/. The official test batch is
kept; validation is carved from the five training batches for the seed.

Memory: as float32 the images take about 740 MB (uint8 files: 180 MB).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kerazoo import arguments
from kerazoo.data import checks, keras_cache, safe_pickle
from kerazoo.data.splits import DataSplits, Split, split_off_validation
from kerazoo.errors import KerazooError
from kerazoo.registry import register_data

BATCH_FOLDER = "cifar-10-batches-py"
KERAS3_FOLDER = "cifar-10-batches-py-target"
TRAIN_BATCHES = [f"data_batch_{number}" for number in range(1, 6)]
TEST_BATCH = "test_batch"
CLASS_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
               "ship", "truck"]


def has_batches(folder: Path) -> bool:
    return all((folder / name).is_file() for name in (*TRAIN_BATCHES, TEST_BATCH))


def read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One batch: (n, 32, 32, 3) uint8 images and int32 labels."""
    try:
        batch = safe_pickle.load_pickle(path, encoding="bytes")
        pixels, labels = batch[b"data"], batch[b"labels"]
        # Stored channels first, one row per image: red plane, green plane, blue plane.
        images = np.asarray(pixels, np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        labels = np.asarray(labels, np.int32)
    except keras_cache.UNREADABLE as error:
        raise KerazooError(f"{str(path)!r} is not a CIFAR-10 Python batch: "
                           f"{type(error).__name__}: {error}") from None
    keras_cache.check_images("CIFAR-10", path, images, labels, 4)
    return images, labels


def find_batches(path, download: bool) -> Path:
    if path is not None:
        for folder in (path, path / BATCH_FOLDER):
            if has_batches(folder):
                return folder
        raise keras_cache.user_path_missing(
            "CIFAR-10", path, f"a folder holding {', '.join(TRAIN_BATCHES)} and {TEST_BATCH} "
            f"(or its parent)")
    candidates = [*keras_cache.in_keras_cache(KERAS3_FOLDER, BATCH_FOLDER),
                  *keras_cache.in_keras_cache(BATCH_FOLDER)]
    found = keras_cache.locate(
        "CIFAR-10", candidates, has_batches, download=download,
        fetcher=lambda: keras_cache.keras_module().datasets.cifar10.load_data(),
        how_to_get="extract https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz (it "
        f"unpacks to {BATCH_FOLDER}/) into {candidates[0].parent}, pass data.path=FOLDER, or "
        f"{keras_cache.DOWNLOAD_HINT}")
    return found


@register_data
def cifar10(seed=0, path=None, download=False, validation_fraction=0.1) -> DataSplits:
    """(32, 32, 3) float32 images in [0, 1]. `path`: the cifar-10-batches-py folder (or its
    parent); by default the Keras cache. `download`: fetch it with keras.datasets.cifar10."""
    seed = checks.seed(seed)
    path = checks.optional_path("path", path)
    download = arguments.boolean("download", download)
    validation_fraction = checks.open_fraction("validation_fraction", validation_fraction)
    folder = find_batches(path, download)
    parts = [read_batch(folder / name) for name in TRAIN_BATCHES]
    images = np.concatenate([images for images, _ in parts])
    labels = np.concatenate([labels for _, labels in parts])
    test_images, test_labels = read_batch(folder / TEST_BATCH)
    official_train = Split(images.astype(np.float32) / 255.0, labels)
    test = Split(test_images.astype(np.float32) / 255.0, test_labels)
    train, validation = split_off_validation(official_train, seed, validation_fraction)
    return DataSplits(
        name="cifar10", source=str(folder), train=train, validation=validation, test=test,
        model_hints={"input_shape": (32, 32, 3), "num_classes": 10},
        extras={"class_names": CLASS_NAMES},
    )
