"""Split one long sequence (a text, a time series) into windows without leaking across splits.

Neighbouring windows overlap or sit side by side, so shuffling windows into train and test
would put near-copies of test data in training. Instead the sequence is cut into contiguous
blocks of whole windows, each block goes to one split (seeded), and windows never cross a
block boundary.
"""

from __future__ import annotations

import numpy as np

from kerazoo.errors import KerazooError

SPLIT_NAMES = ("train", "validation", "test")


def window_starts(length: int, span: int, stride: int) -> np.ndarray:
    """Offsets of every window of `span` items that fits in `length`, `stride` apart."""
    if length < span:
        return np.zeros(0, np.int64)
    return np.arange(0, length - span + 1, stride, dtype=np.int64)


def block_split(length: int, span: int, stride: int, block_windows: int, seed: int,
                validation_fraction: float, test_fraction: float,
                what: str = "sequence") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Start offsets of the train, validation and test windows (each sorted).

    A block holds `block_windows` windows, so it is (block_windows - 1) * stride + span items
    long; a shorter tail becomes one last block if a window fits in it. Validation and test
    each get at least one block.
    """
    block_length = (block_windows - 1) * stride + span
    block_offsets = np.arange(0, length, block_length, dtype=np.int64)
    local = window_starts(block_length, span, stride)
    starts = (block_offsets[:, None] + local[None, :])
    fits = starts + span <= length
    count = int(np.count_nonzero(fits.any(axis=1)))
    validation_count = max(1, round(validation_fraction * count))
    test_count = max(1, round(test_fraction * count))
    if count - validation_count - test_count < 1:
        raise KerazooError(
            f"the {what} is too short to split: {length} items make {count} blocks of "
            f"{block_windows} windows of {span}, and train, validation and test need one "
            "each; use a longer text or series, or smaller `block_windows`, `window` or "
            f"`stride`. Received: length={length}"
        )
    order = np.random.default_rng(seed).permutation(count)
    assignment = np.empty(count, np.int64)
    assignment[order[:test_count]] = 2
    assignment[order[test_count:test_count + validation_count]] = 1
    assignment[order[test_count + validation_count:]] = 0
    return tuple(starts[:count][assignment == part][fits[:count][assignment == part]]
                 for part in range(3))


def chronological_split(length: int, span: int, stride: int, validation_fraction: float,
                        test_fraction: float,
                        what: str = "series") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Start offsets for train = the past, validation = what follows, test = the most recent
    part: the honest setting for forecasting, where the future is never seen in training."""
    test_begin = int(round(length * (1 - test_fraction)))
    validation_begin = int(round(length * (1 - test_fraction - validation_fraction)))
    bounds = ((0, validation_begin), (validation_begin, test_begin), (test_begin, length))
    starts = tuple(begin + window_starts(end - begin, span, stride) for begin, end in bounds)
    for name, part in zip(SPLIT_NAMES, starts, strict=True):
        if len(part) == 0:
            raise KerazooError(
                f"the {what} is too short to split chronologically: its {name} part holds no "
                f"window of {span} steps; use a longer series or a smaller `window` or "
                f"`horizon`. Received: length={length}"
            )
    return starts


def gather_windows(sequence: np.ndarray, starts: np.ndarray, span: int) -> np.ndarray:
    """Rows `sequence[start:start + span]` for every start: a (n, span, ...) copy."""
    view = np.lib.stride_tricks.sliding_window_view(sequence, span, axis=0)
    windows = view[starts]
    # sliding_window_view puts the window axis last; bring it next to the batch axis.
    return np.ascontiguousarray(np.moveaxis(windows, -1, 1))
