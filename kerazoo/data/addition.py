"""The addition task for sequence-to-sequence models: "123+45" -> "168", as characters.

The model reads the question one character at a time and writes the answer one character at
a time; nothing tells it what digits or "+" mean. Layout (all int32, padding id 0 after the
text):

    x[0] encoder inputs   "123+45"             (source_length = 2 * max_digits + 1)
    x[1] decoder inputs   <start> "168"        (teacher forcing: the answer so far)
    y    decoder targets  "168" <end>          (target_length = max_digits + 2)

Source and target share one vocabulary. Every question appears at most once, so no test
question was seen in training (though its mirror image "45+123" may have been).
"""

from __future__ import annotations

import numpy as np

from kerazoo import arguments
from kerazoo.data import checks
from kerazoo.data.splits import DataSplits, split_three_ways
from kerazoo.registry import register_data

VOCABULARY = ["", *"0123456789", "+", "<start>", "<end>"]
DIGIT_IDS = 1  # the id of "0"; digit d has id d + 1
PLUS_ID, START_ID, END_ID = (VOCABULARY.index(token) for token in ("+", "<start>", "<end>"))


def digit_ids(numbers: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Each number's digits as ids, left-aligned in `width` columns with padding after, and
    how many digits each has."""
    lengths = np.ones(len(numbers), np.int64)
    lengths += sum((numbers >= 10**power).astype(np.int64) for power in range(1, width))
    ids = np.zeros((len(numbers), width), np.int32)
    for column in range(width):
        exponent = lengths - 1 - column
        present = exponent >= 0
        digit = (numbers // 10 ** np.maximum(exponent, 0)) % 10
        ids[:, column] = np.where(present, DIGIT_IDS + digit, 0)
    return ids, lengths


def place(rows: np.ndarray, ids: np.ndarray, lengths: np.ndarray, offsets: np.ndarray) -> None:
    """Write each row's first `lengths` ids into `rows` starting at that row's offset."""
    for column in range(ids.shape[1]):
        present = column < lengths
        rows[np.flatnonzero(present), offsets[present] + column] = ids[present, column]


def draw_numbers(generator: np.random.Generator, count: int, max_digits: int) -> np.ndarray:
    """Numbers whose digit count is uniform in 1..max_digits, so short numbers are not
    swamped by long ones (uniform numbers would be 90 % max_digits long)."""
    digits = generator.integers(1, max_digits + 1, count)
    low = np.where(digits == 1, 0, 10 ** (digits - 1))
    return low + np.floor(generator.random(count) * (10**digits - low)).astype(np.int64)


def distinct_questions(generator, samples: int, max_digits: int):
    """`samples` distinct (a, b) pairs, in the order they were drawn."""
    base = 10**max_digits
    pairs = np.zeros((0, 2), np.int64)
    while len(pairs) < samples:
        more = np.stack([draw_numbers(generator, 2 * samples, max_digits),
                         draw_numbers(generator, 2 * samples, max_digits)], axis=1)
        pairs = np.concatenate([pairs, more])
        _, first = np.unique(pairs[:, 0] * base + pairs[:, 1], return_index=True)
        pairs = pairs[np.sort(first)]
    return pairs[:samples, 0], pairs[:samples, 1]


def reverse_text(rows: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Reverse each row's text, leaving its padding at the end."""
    columns = np.arange(rows.shape[1])
    order = np.where(columns < lengths[:, None], lengths[:, None] - 1 - columns, columns)
    return np.take_along_axis(rows, order, axis=1)


@register_data
def addition(seed=0, samples=50000, max_digits=3, reverse_source=False,
             validation_fraction=0.1, test_fraction=0.1) -> DataSplits:
    """`samples` distinct sums of two numbers of 1..`max_digits` digits each.

    `reverse_source` reverses the question's characters ("54+321"), which puts the digits
    that decide the answer's first characters close to the decoder (Sutskever et al., 2014).
    """
    seed = checks.seed(seed)
    max_digits = arguments.positive_int("max_digits", max_digits)
    if max_digits > 9:
        raise arguments.fail("max_digits", "an integer from 1 to 9", max_digits)
    # Half of all possible questions at most, so drawing distinct ones finishes quickly.
    possible = 10 ** (2 * max_digits)
    samples = arguments.int_at_least("samples", samples, 10)
    if samples > possible // 2:
        raise arguments.fail("samples", f"at most {possible // 2} for max_digits={max_digits}",
                             samples)
    reverse_source = arguments.boolean("reverse_source", reverse_source)
    validation_fraction, test_fraction = checks.split_fractions(validation_fraction,
                                                                test_fraction)
    generator = np.random.default_rng(seed)
    first, second = distinct_questions(generator, samples, max_digits)

    source_length, target_length = 2 * max_digits + 1, max_digits + 2
    first_ids, first_lengths = digit_ids(first, max_digits)
    second_ids, second_lengths = digit_ids(second, max_digits)
    source = np.zeros((samples, source_length), np.int32)
    place(source, first_ids, first_lengths, np.zeros(samples, np.int64))
    source[np.arange(samples), first_lengths] = PLUS_ID
    place(source, second_ids, second_lengths, first_lengths + 1)
    if reverse_source:
        source = reverse_text(source, first_lengths + 1 + second_lengths)

    answer_ids, answer_lengths = digit_ids(first + second, max_digits + 1)
    decoder_inputs = np.zeros((samples, target_length), np.int32)
    decoder_inputs[:, 0] = START_ID
    place(decoder_inputs, answer_ids, answer_lengths, np.ones(samples, np.int64))
    targets = np.zeros((samples, target_length), np.int32)
    place(targets, answer_ids, answer_lengths, np.zeros(samples, np.int64))
    targets[np.arange(samples), answer_lengths] = END_ID

    train, validation, test = split_three_ways((source, decoder_inputs), targets, seed,
                                               validation_fraction, test_fraction,
                                               stratify=False)
    return DataSplits(
        name="addition",
        source=f"kerazoo addition generator ({samples} distinct sums of up to {max_digits} "
               f"digits, seed {seed}{', reversed questions' if reverse_source else ''})",
        train=train, validation=validation, test=test,
        model_hints={"input_shape": (source_length,), "vocabulary_size": len(VOCABULARY)},
        extras={"vocabulary": VOCABULARY, "start_id": START_ID, "end_id": END_ID,
                "padding_id": 0, "source_length": source_length,
                "target_length": target_length, "reverse_source": reverse_source},
    )
