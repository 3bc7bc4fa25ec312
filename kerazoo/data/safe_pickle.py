"""Reading the pickled classic datasets (CIFAR-10 batches, IMDB's ragged arrays) safely.

A pickle can run arbitrary code when loaded, and these files may come from anywhere a user
points `path` at. The unpickler below only rebuilds NumPy arrays, dtypes and scalars (plus
plain lists, dicts, bytes and numbers, which need no lookup); anything else is refused.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

# (module, name) pairs a NumPy array pickle refers to; NumPy 2 renamed numpy.core.
ARRAY_GLOBALS = frozenset(
    (module, name)
    for module in ("numpy.core.multiarray", "numpy._core.multiarray")
    for name in ("_reconstruct", "scalar")
) | {("numpy", "ndarray"), ("numpy", "dtype")}


class ArraysOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in ARRAY_GLOBALS:
            raise pickle.UnpicklingError(
                f"refusing to load {module}.{name}: a dataset file should hold only arrays")
        return super().find_class(module, name)


def load_pickle(path: Path, encoding: str = "ASCII") -> Any:
    """`encoding="bytes"` reads pickles written by Python 2 (the CIFAR batches)."""
    with open(path, "rb") as file:
        return ArraysOnlyUnpickler(file, encoding=encoding).load()


def _read_npy(stream: io.BytesIO) -> np.ndarray:
    try:
        return np.lib.format.read_array(stream, allow_pickle=False)
    except ValueError:
        # An object array: its payload after the header is a pickle of the array.
        stream.seek(0)
        major, _ = np.lib.format.read_magic(stream)
        if major == 1:
            np.lib.format.read_array_header_1_0(stream)
        else:
            np.lib.format.read_array_header_2_0(stream)
        return ArraysOnlyUnpickler(stream).load()


def load_npz(path: Path) -> dict[str, np.ndarray]:
    """Every array of an .npz archive, object arrays included, without trusting pickles."""
    arrays = {}
    with zipfile.ZipFile(path) as archive:
        for member in archive.namelist():
            if member.endswith(".npy"):
                arrays[member.removesuffix(".npy")] = _read_npy(io.BytesIO(archive.read(member)))
    return arrays
