"""IMDB movie reviews, positive or negative: 50 000 word-id sequences, used when present.

Read from Keras' cache, ~/.keras/datasets/imdb.npz (x_train, y_train, x_test, y_test: arrays
of reviews, each a list of word frequency ranks, 1 = the most frequent word), plus
imdb_word_index.json beside it when there (word -> rank) to decode reviews. Ids follow
Keras' `imdb.load_data` convention: 0 padding, 1 start of review, 2 out of vocabulary, and a
word of rank r gets id r + 3 when that is below `vocabulary_size`. The official test half is
kept; validation is carved from the training half for the seed.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from kerazoo import arguments
from kerazoo.data import checks, keras_cache, safe_pickle
from kerazoo.data.splits import DataSplits, Split, split_off_validation
from kerazoo.errors import KerazooError
from kerazoo.registry import register_data

REVIEWS_FILE = "imdb.npz"
WORD_INDEX_FILE = "imdb_word_index.json"
PADDING_ID, START_ID, UNKNOWN_ID = 0, 1, 2
FIRST_WORD_ID = 3  # rank r -> id r + 3; ranks start at 1, so id 3 is never used
CLASS_NAMES = ["negative", "positive"]


def read_reviews(path: Path) -> dict[str, np.ndarray]:
    try:
        arrays = safe_pickle.load_npz(path)
    except keras_cache.UNREADABLE as error:
        raise KerazooError(f"cannot read IMDB file {str(path)!r}: {type(error).__name__}: "
                           f"{error}") from None
    missing = [key for key in ("x_train", "y_train", "x_test", "y_test") if key not in arrays]
    if missing:
        raise KerazooError(f"{str(path)!r} is not Keras' {REVIEWS_FILE}: it lacks "
                           f"{', '.join(missing)}")
    return arrays


def encode(reviews, vocabulary_size: int, sequence_length: int) -> np.ndarray:
    """Fixed-length int32 rows. As in Keras' pad_sequences defaults, a long review keeps its
    end and a short one is padded in front, so the last time step of a recurrent model
    always sees the review's last words."""
    rows = np.zeros((len(reviews), sequence_length), np.int32)
    for row, ranks in zip(rows, reviews, strict=True):
        ids = np.concatenate([[START_ID], np.asarray(ranks, np.int64) + FIRST_WORD_ID])
        ids = ids[-sequence_length:]
        ids[ids >= vocabulary_size] = UNKNOWN_ID
        row[sequence_length - len(ids):] = ids
    return rows


def read_vocabulary(path: Path, vocabulary_size: int) -> list[str] | None:
    """`vocabulary[id]` for every id below `vocabulary_size`, or None without the word index."""
    if not path.is_file():
        return None
    try:
        ranks = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise KerazooError(f"cannot read IMDB word index {str(path)!r}: {error}") from None
    vocabulary = ["", "<start>", "<unknown>", "<unused>"]
    vocabulary += ["<unknown>"] * (vocabulary_size - len(vocabulary))
    for word, rank in ranks.items():
        if rank + FIRST_WORD_ID < vocabulary_size:
            vocabulary[rank + FIRST_WORD_ID] = word
    return vocabulary[:vocabulary_size]


def find_reviews(path, download: bool) -> Path:
    if path is not None:
        found = path / REVIEWS_FILE if path.is_dir() else path
        if not found.is_file():
            raise keras_cache.user_path_missing("IMDB", path,
                                                f"Keras' {REVIEWS_FILE} or a folder holding it")
        return found
    candidates = keras_cache.in_keras_cache(REVIEWS_FILE)
    return keras_cache.locate(
        "IMDB", candidates, Path.is_file, download=download, fetcher=_download_both,
        how_to_get=f"put Keras' {REVIEWS_FILE} (and {WORD_INDEX_FILE}) there (what "
        "keras.datasets.imdb.load_data() and get_word_index() download), pass "
        f"data.path=FILE, or {keras_cache.DOWNLOAD_HINT}")


def _download_both() -> None:
    imdb = keras_cache.keras_module().datasets.imdb
    imdb.load_data()
    imdb.get_word_index()


@register_data
def imdb(seed=0, path=None, download=False, vocabulary_size=10000, sequence_length=200,
         validation_fraction=0.1) -> DataSplits:
    """Reviews as `sequence_length` word ids below `vocabulary_size`; labels 1 = positive.
    `path`: Keras' imdb.npz or the folder holding it; by default the Keras cache."""
    seed = checks.seed(seed)
    path = checks.optional_path("path", path)
    download = arguments.boolean("download", download)
    vocabulary_size = arguments.int_at_least("vocabulary_size", vocabulary_size, FIRST_WORD_ID + 1)
    sequence_length = arguments.positive_int("sequence_length", sequence_length)
    validation_fraction = checks.open_fraction("validation_fraction", validation_fraction)
    found = find_reviews(path, download)
    arrays = read_reviews(found)

    def split(part: str) -> Split:
        return Split(encode(arrays[f"x_{part}"], vocabulary_size, sequence_length),
                     np.asarray(arrays[f"y_{part}"], np.int32))

    train, validation = split_off_validation(split("train"), seed, validation_fraction)
    test = split("test")
    extras = {"class_names": CLASS_NAMES, "padding_id": PADDING_ID, "start_id": START_ID,
              "unknown_id": UNKNOWN_ID}
    vocabulary = read_vocabulary(found.parent / WORD_INDEX_FILE, vocabulary_size)
    if vocabulary is not None:
        extras["vocabulary"] = vocabulary
    return DataSplits(
        name="imdb", source=str(found), train=train, validation=validation, test=test,
        model_hints={"input_shape": (sequence_length,), "num_classes": 2,
                     "vocabulary_size": vocabulary_size},
        extras=extras,
    )
