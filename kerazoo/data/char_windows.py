"""A text as character windows for a character language model.

x is a window of character ids, y the same window shifted one character ahead, so the model
predicts every next character. Id 0 is reserved for padding; characters get ids 1.. in code
point order. Splits are contiguous blocks of the text (see blocks.py), never interleaved
windows, so validation and test text is text the model has not read.
"""

from __future__ import annotations

import numpy as np

from kerazoo import arguments
from kerazoo.data import blocks, checks
from kerazoo.data.splits import DataSplits, Split

PADDING = ""


def encode(text: str) -> tuple[np.ndarray, list[str]]:
    """Character ids (int32) and the vocabulary, where `vocabulary[id]` is the character."""
    code_points = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    characters, ids = np.unique(code_points, return_inverse=True)
    return (ids + 1).astype(np.int32), [PADDING, *map(chr, characters)]


def decode(ids, vocabulary: list[str]) -> str:
    """The text of a sequence of ids (padding decodes to nothing)."""
    return "".join(vocabulary[int(i)] for i in ids)


def unigram_entropy_bits(ids: np.ndarray) -> float:
    """Bits per character of the best model that ignores context: the bar a language model
    must get well under."""
    counts = np.bincount(ids.ravel())
    probabilities = counts[counts > 0] / ids.size
    return float(-(probabilities * np.log2(probabilities)).sum())


def check_window_options(window, stride, block_windows) -> tuple[int, int, int]:
    window = arguments.positive_int("window", window)
    stride = window if stride is None else arguments.positive_int("stride", stride)
    block_windows = arguments.positive_int("block_windows", block_windows)
    return window, stride, block_windows


def character_splits(text: str, *, name: str, source: str, seed: int, window: int,
                     stride: int | None, block_windows: int, validation_fraction: float,
                     test_fraction: float) -> DataSplits:
    """Windows of `window` characters, `stride` apart (default: `window`, so each character is
    predicted once per epoch), in blocks of `block_windows` windows assigned to splits."""
    seed = checks.seed(seed)
    window, stride, block_windows = check_window_options(window, stride, block_windows)
    validation_fraction, test_fraction = checks.split_fractions(validation_fraction,
                                                                test_fraction)
    ids, vocabulary = encode(text)
    span = window + 1  # the inputs plus the one character after them
    starts = blocks.block_split(len(ids), span, stride, block_windows, seed,
                                validation_fraction, test_fraction, what=f"text of {name}")
    splits = []
    for part in starts:
        windows = blocks.gather_windows(ids, part, span)
        splits.append(Split(windows[:, :-1], windows[:, 1:]))
    train, validation, test = splits
    return DataSplits(
        name=name, source=source, train=train, validation=validation, test=test,
        model_hints={"input_shape": (window,), "vocabulary_size": len(vocabulary)},
        extras={"vocabulary": vocabulary, "characters": len(ids),
                "unigram_entropy_bits": unigram_entropy_bits(train.y)},
    )
