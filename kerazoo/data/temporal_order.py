"""Sequence classification that needs memory of order: the temporal-order task.

After Hochreiter & Schmidhuber (1997, "Long Short-Term Memory", experiment 6): a sequence of
random distractor tokens (a, b, c, d) holds a few relevant symbols, each X or Y, at random
positions; the class is the order in which they appear (XXY, XYX, ...). Every class has the
same number of relevant symbols, so a bag of tokens sees at most how many are X, never their
order: with 3 symbols such a model cannot pass 50 % accuracy, while a recurrent network that
remembers what it saw reaches 100 %.
"""

from __future__ import annotations

import itertools

import numpy as np

from kerazoo import arguments
from kerazoo.data import checks
from kerazoo.data.splits import DataSplits, split_three_ways
from kerazoo.registry import register_data

DISTRACTORS = ["a", "b", "c", "d"]
SYMBOLS = ["X", "Y"]
VOCABULARY = ["", *DISTRACTORS, *SYMBOLS]  # id 0 is padding, never used here
FIRST_SYMBOL_ID = 1 + len(DISTRACTORS)


@register_data
def temporal_order(seed=0, samples=6000, length=40, relevant_symbols=3,
                   validation_fraction=0.15, test_fraction=0.15) -> DataSplits:
    """`samples` token sequences of `length` ids (int32); 2**relevant_symbols balanced classes
    named by their symbol order, e.g. "XYY"."""
    seed = checks.seed(seed)
    relevant_symbols = arguments.positive_int("relevant_symbols", relevant_symbols)
    if relevant_symbols > 6:
        raise arguments.fail("relevant_symbols", "an integer from 1 to 6 (2 to 64 classes)",
                             relevant_symbols)
    length = arguments.int_at_least("length", length, relevant_symbols)
    classes = 2 ** relevant_symbols
    samples = arguments.int_at_least("samples", samples, 10 * classes)  # a few per class and split
    validation_fraction, test_fraction = checks.split_fractions(validation_fraction,
                                                                test_fraction)
    generator = np.random.default_rng(seed)
    labels = generator.permutation(np.arange(samples) % classes).astype(np.int32)
    # The class id written in binary, most significant bit first: bit 1 means Y.
    powers = 2 ** np.arange(relevant_symbols - 1, -1, -1)
    symbols = (labels[:, None] // powers) % 2
    tokens = generator.integers(1, FIRST_SYMBOL_ID, (samples, length), dtype=np.int32)
    # Distinct random positions per row, in increasing order: the k smallest of random keys.
    positions = np.sort(np.argsort(generator.random((samples, length)), axis=1)
                        [:, :relevant_symbols], axis=1)
    np.put_along_axis(tokens, positions, (FIRST_SYMBOL_ID + symbols).astype(np.int32), axis=1)
    class_names = ["".join(order) for order in itertools.product(SYMBOLS,
                                                                 repeat=relevant_symbols)]
    train, validation, test = split_three_ways(tokens, labels, seed, validation_fraction,
                                               test_fraction)
    return DataSplits(
        name="temporal_order",
        source=f"kerazoo temporal-order generator ({samples} sequences of {length}, "
               f"{relevant_symbols} relevant symbols, seed {seed})",
        train=train, validation=validation, test=test,
        model_hints={"input_shape": (length,), "num_classes": classes,
                     "vocabulary_size": len(VOCABULARY)},
        extras={"class_names": class_names, "vocabulary": VOCABULARY},
    )
