"""Every trainable variable of a model in one block of shared memory, as NumPy views.

The block is the parameter vector all HOGWILD! workers read and write with no lock. It is
created by the job's parent, which alone unlinks it (workers only attach and close), and its
name carries the parent's pid so a test can see that nothing is left in /dev/shm.
"""

from __future__ import annotations

import math
import os
import secrets
from collections.abc import Sequence
from multiprocessing import shared_memory

import numpy as np

NAME_PREFIX = "kerazoo_hogwild_"
DTYPE = np.float32


def segment_prefix(pid: int | None = None) -> str:
    """The start of the names of the blocks a process creates (see /dev/shm)."""
    return f"{NAME_PREFIX}{os.getpid() if pid is None else pid}_"


class SharedWeights:
    """Arrays of the given shapes laid end to end in one shared-memory block."""

    def __init__(self, block: shared_memory.SharedMemory, shapes: Sequence[tuple[int, ...]]):
        self.block = block
        self.shapes = [tuple(shape) for shape in shapes]
        self.views: list[np.ndarray] = []
        offset = 0
        for shape in self.shapes:
            size = math.prod(shape)
            self.views.append(np.ndarray(shape, DTYPE, buffer=block.buf,
                                         offset=offset * DTYPE().itemsize))
            offset += size

    @property
    def name(self) -> str:
        return self.block.name

    @classmethod
    def create(cls, arrays: Sequence[np.ndarray]) -> SharedWeights:
        """A new block holding copies of `arrays` (cast to float32)."""
        shapes = [np.shape(array) for array in arrays]
        size = sum(math.prod(shape) for shape in shapes) * DTYPE().itemsize
        block = shared_memory.SharedMemory(
            name=segment_prefix() + secrets.token_hex(4), create=True, size=max(size, 1))
        weights = cls(block, shapes)
        for view, array in zip(weights.views, arrays, strict=True):
            view[...] = array
        return weights

    @classmethod
    def attach(cls, name: str, shapes: Sequence[tuple[int, ...]]) -> SharedWeights:
        # With spawn the children share the parent's resource tracker, whose record of the
        # block is a set: attaching registers the name again, harmlessly.
        return cls(shared_memory.SharedMemory(name=name), shapes)

    def snapshot(self) -> list[np.ndarray]:
        """Copies of the current values (they keep changing underneath while workers run)."""
        return [np.array(view) for view in self.views]

    def close(self) -> None:
        self.views = []  # the views hold the buffer; they must go before it can close
        self.block.close()

    def unlink(self) -> None:
        self.block.unlink()
