"""The shape every data loader returns, and the deterministic split they share."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.model_selection import train_test_split

# x may be one array or a tuple of arrays (multi-input models such as seq2seq).
Arrays = np.ndarray | tuple[np.ndarray, ...]


def _first(arrays: Arrays) -> np.ndarray:
    return arrays[0] if isinstance(arrays, tuple) else arrays


def take(arrays: Arrays, index: Any) -> Arrays:
    """Index one array or every array of a tuple the same way."""
    if isinstance(arrays, tuple):
        return tuple(array[index] for array in arrays)
    return arrays[index]


@dataclass
class Split:
    x: Arrays
    y: np.ndarray
    # Per-sample side information aligned with the rows and never fed to the model (an
    # anomaly set's `is_anomaly`, an autoencoder image's digit `label`, a forecast window's
    # `last_value`). It lives here rather than in `DataSplits.extras` so that `head()` and
    # every other row selection keep it aligned.
    info: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(_first(self.x))

    def select(self, index: Any) -> Split:
        """The rows `index` picks (a slice, a boolean mask or positions), info included."""
        return Split(take(self.x, index), self.y[index],
                     {key: values[index] for key, values in self.info.items()})

    def head(self, count: int) -> Split:
        return self.select(slice(0, count))


@dataclass
class DataSplits:
    """Train, validation and test splits plus what the rest of kerazoo needs to know.

    `model_hints` are builder keywords the data determines (input_shape without the batch axis,
    num_classes, vocabulary_size with id 0 for padding, horizon); the runner passes each one
    the builder accepts unless the recipe sets it.
    `extras` carries what task reports need and is the same for every split (class names, the
    vocabulary, normalization constants); per-sample side information is in each `Split.info`.
    """

    name: str
    source: str
    train: Split
    validation: Split
    test: Split
    model_hints: dict[str, Any] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "validation": len(self.validation),
                "test": len(self.test)}

    def head(self, train: int, validation: int, test: int) -> DataSplits:
        """The first samples of each split (for `--smoke`)."""
        return DataSplits(self.name, self.source, self.train.head(train),
                          self.validation.head(validation), self.test.head(test),
                          self.model_hints, self.extras)

    def content_hash(self) -> str:
        digest = hashlib.sha256()
        for split in (self.train, self.validation, self.test):
            arrays = (*(split.x if isinstance(split.x, tuple) else (split.x,)), split.y,
                      *(split.info[key] for key in sorted(split.info)))
            for array in arrays:
                array = np.ascontiguousarray(array)
                digest.update(str((array.dtype.str, array.shape)).encode())
                digest.update(array.tobytes())
        return digest.hexdigest()[:16]

    def fingerprint(self) -> dict[str, Any]:
        """Name, source, sizes and a content hash: enough to tell two runs' data apart."""
        sizes = self.sizes()
        return {"name": self.name, "source": self.source,
                **{f"{split}_size": size for split, size in sizes.items()},
                "sha256": self.content_hash()}


def stratifiable(labels: np.ndarray, test_fraction: float) -> np.ndarray | None:
    """`labels` when a stratified split is possible, else None.

    Stratifying needs two samples of every class and room for each class on both sides; a
    small folder of images or a tiny test file may not have that, and an unstratified split
    is then better than none.
    """
    counts = np.unique(labels, return_counts=True)[1]
    test_count = math.ceil(test_fraction * len(labels))
    if counts.min() < 2 or min(test_count, len(labels) - test_count) < len(counts):
        return None
    return labels


def split_three_ways(
    x: Arrays, y: np.ndarray, seed: int, validation_fraction: float, test_fraction: float,
    stratify: bool = True, info: dict[str, np.ndarray] | None = None,
) -> tuple[Split, Split, Split]:
    """A deterministic train/validation/test split for a seed (stratified for class labels
    when the classes are large enough)."""
    whole = Split(x, y, dict(info or {}))
    index = np.arange(len(y))
    labels = stratifiable(y, test_fraction) if stratify else None
    rest, test_index = train_test_split(index, test_size=test_fraction, random_state=seed,
                                        stratify=labels)
    relative_validation = validation_fraction / (1.0 - test_fraction)
    rest_labels = (stratifiable(y[rest], relative_validation)
                   if labels is not None else None)
    train_index, validation_index = train_test_split(
        rest, test_size=relative_validation, random_state=seed, stratify=rest_labels)
    return tuple(whole.select(part) for part in (train_index, validation_index, test_index))


def split_off_validation(train: Split, seed: int, validation_fraction: float,
                         stratify: bool = True) -> tuple[Split, Split]:
    """Carve a validation split out of a dataset's official training split.

    Classic datasets keep their official test split so that test figures compare with the
    literature; only the train/validation boundary depends on the seed.
    """
    index = np.arange(len(train))
    train_index, validation_index = train_test_split(
        index, test_size=validation_fraction, random_state=seed,
        stratify=stratifiable(train.y, validation_fraction) if stratify else None,
    )
    return train.select(np.sort(train_index)), train.select(np.sort(validation_index))
