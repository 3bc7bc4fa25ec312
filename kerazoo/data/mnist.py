"""MNIST and Fashion-MNIST: 70 000 28×28 grayscale images in 10 classes, used when present.

Files are read in the layouts Keras' loaders leave in its cache:

    ~/.keras/datasets/mnist.npz                         x_train, y_train, x_test, y_test
    ~/.keras/datasets/fashion-mnist/train-images-idx3-ubyte.gz   (and the other three IDX
                                                        files: train-labels-idx1-ubyte.gz,
                                                        t10k-images-idx3-ubyte.gz,
                                                        t10k-labels-idx1-ubyte.gz)

Fashion-MNIST is also found where the Debian package dataset-fashion-mnist installs the same
four files, /usr/share/datasets/fashion-mnist/. The official test split is kept; validation
is carved from the official training split for the seed.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from kerazoo import arguments
from kerazoo.data import checks, keras_cache
from kerazoo.data.splits import DataSplits, Split, split_off_validation
from kerazoo.errors import KerazooError
from kerazoo.registry import register_data

MNIST_FILE = "mnist.npz"
FASHION_FOLDER = "fashion-mnist"
DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")
IDX_FILES = {"x_train": "train-images-idx3-ubyte", "y_train": "train-labels-idx1-ubyte",
             "x_test": "t10k-images-idx3-ubyte", "y_test": "t10k-labels-idx1-ubyte"}
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot"]
# IDX magic numbers (LeCun's format): two zero bytes, a type byte (0x08 = unsigned byte) and
# the number of dimensions.
IDX_UNSIGNED_BYTE = 0x08


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (gzipped or not) as a uint8 array of the shape its header declares."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as file:
            data = file.read()
    except keras_cache.UNREADABLE as error:
        raise keras_cache.unreadable("IDX", path, error) from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != IDX_UNSIGNED_BYTE:
        raise KerazooError(f"{str(path)!r} is not an IDX file of unsigned bytes "
                           "(the MNIST file format)")
    rank = data[3]
    shape = tuple(int(side) for side in np.frombuffer(data, ">u4", count=rank, offset=4))
    values = np.frombuffer(data, np.uint8, offset=4 + 4 * rank)
    if values.size != int(np.prod(shape)):
        raise KerazooError(f"{str(path)!r} is truncated: its header declares shape {shape} "
                           f"but it holds {values.size} values")
    return values.reshape(shape)


def idx_path(folder: Path, stem: str) -> Path | None:
    return keras_cache.first_existing([folder / f"{stem}.gz", folder / stem], Path.is_file)


def has_idx_files(folder: Path) -> bool:
    return folder.is_dir() and all(idx_path(folder, stem) for stem in IDX_FILES.values())


def read_npz_arrays(path: Path, title: str) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in IDX_FILES if key in archive}
    except keras_cache.UNREADABLE as error:
        raise keras_cache.unreadable(title, path, error) from None
    missing = [key for key in IDX_FILES if key not in arrays]
    if missing:
        raise KerazooError(f"{str(path)!r} is not Keras' {MNIST_FILE}: it lacks "
                           f"{', '.join(missing)}")
    for part in ("train", "test"):
        keras_cache.check_images(title, path, arrays[f"x_{part}"], arrays[f"y_{part}"], 3)
    return arrays


def image_splits(arrays: dict[str, np.ndarray], seed: int,
                 validation_fraction: float) -> tuple[Split, Split, Split]:
    """uint8 images become float32 in [0, 1] with a channel axis, like every kerazoo image."""

    def images(raw: np.ndarray) -> np.ndarray:
        return (raw.astype(np.float32) / 255.0)[..., None]

    official_train = Split(images(arrays["x_train"]), arrays["y_train"].astype(np.int32))
    test = Split(images(arrays["x_test"]), arrays["y_test"].astype(np.int32))
    train, validation = split_off_validation(official_train, seed, validation_fraction)
    return train, validation, test


def check_common(seed, path, download, validation_fraction):
    return (checks.seed(seed), checks.optional_path("path", path),
            arguments.boolean("download", download),
            checks.open_fraction("validation_fraction", validation_fraction))


@register_data
def mnist(seed=0, path=None, download=False, validation_fraction=0.1) -> DataSplits:
    """Handwritten digits, (28, 28, 1) float32 in [0, 1]. `path`: Keras' mnist.npz or the
    folder holding it; by default the Keras cache. `download`: fetch it with
    keras.datasets.mnist when absent."""
    seed, path, download, validation_fraction = check_common(seed, path, download,
                                                             validation_fraction)
    if path is not None:
        found = path / MNIST_FILE if path.is_dir() else path
        if not found.is_file():
            raise keras_cache.user_path_missing("MNIST", path,
                                                f"Keras' {MNIST_FILE} or a folder holding it")
    else:
        candidates = keras_cache.in_keras_cache(MNIST_FILE)
        found = keras_cache.locate(
            "MNIST", candidates, Path.is_file, download=download,
            fetcher=lambda: keras_cache.keras_module().datasets.mnist.load_data(),
            how_to_get=f"put Keras' {MNIST_FILE} there (what keras.datasets.mnist.load_data() "
            f"downloads), pass data.path=FILE, or {keras_cache.DOWNLOAD_HINT}")
    train, validation, test = image_splits(read_npz_arrays(found, "MNIST"), seed,
                                           validation_fraction)
    return DataSplits(
        name="mnist", source=str(found), train=train, validation=validation, test=test,
        model_hints={"input_shape": train.x.shape[1:], "num_classes": 10},
        extras={"class_names": [str(digit) for digit in range(10)]},
    )


@register_data
def fashion_mnist(seed=0, path=None, download=False, validation_fraction=0.1) -> DataSplits:
    """Zalando's clothing images, (28, 28, 1) float32 in [0, 1]. `path`: a folder holding the
    four IDX files; by default the Keras cache, then the Debian package's folder.
    `download`: fetch them with keras.datasets.fashion_mnist when absent."""
    seed, path, download, validation_fraction = check_common(seed, path, download,
                                                             validation_fraction)
    if path is not None:
        if not has_idx_files(path):
            raise keras_cache.user_path_missing(
                "Fashion-MNIST", path,
                f"a folder holding {', '.join(f'{stem}.gz' for stem in IDX_FILES.values())}")
        found = path
    else:
        candidates = [*keras_cache.in_keras_cache(FASHION_FOLDER), DEBIAN_FASHION]
        found = keras_cache.locate(
            "Fashion-MNIST", candidates, has_idx_files, download=download,
            fetcher=lambda: keras_cache.keras_module().datasets.fashion_mnist.load_data(),
            how_to_get="install the Debian package (apt-get install dataset-fashion-mnist), "
            "put Keras' four fashion-mnist IDX files in the first folder, pass "
            f"data.path=FOLDER, or {keras_cache.DOWNLOAD_HINT}")
    arrays = {key: read_idx(idx_path(found, stem)) for key, stem in IDX_FILES.items()}
    for part in ("train", "test"):
        keras_cache.check_images("Fashion-MNIST", found, arrays[f"x_{part}"],
                                 arrays[f"y_{part}"], 3)
    train, validation, test = image_splits(arrays, seed, validation_fraction)
    return DataSplits(
        name="fashion_mnist", source=str(found), train=train, validation=validation,
        test=test, model_hints={"input_shape": train.x.shape[1:], "num_classes": 10},
        extras={"class_names": FASHION_CLASSES},
    )

