"""Loaders that need no files: embedded data (digits, CPython's docs) and seeded generators."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression, Ridge

from kerazoo.data import DataSplits, blocks, load_data, pipeline
from kerazoo.data.char_windows import decode
from kerazoo.data.text import python_docs_text
from kerazoo.errors import KerazooError
from kerazoo.registry import data_registry

# Every loader that works offline with no file, at a size that keeps the suite fast.
OFFLINE = {
    "digits": {},
    "digits_anomaly": {},
    "shapes": {"samples": 400},
    "python_docs": {},
    "temporal_order": {"samples": 400},
    "addition": {"samples": 2000},
    "seasonal_series": {"length": 3000},
    "ratings": {"users": 50, "items": 40, "count": 2000},
    "planar": {"shape": "spirals", "samples": 200},
    "line": {"samples": 100},
}

_cache: dict[tuple, DataSplits] = {}


def load(name: str, seed: int = 0, **kwargs) -> DataSplits:
    """Loaders are deterministic, so tests may share what they load."""
    key = (name, seed, tuple(sorted(kwargs.items())))
    if key not in _cache:
        _cache[key] = load_data(name, seed=seed, **kwargs)
    return _cache[key]


def arrays_of(split):
    return (*(split.x if isinstance(split.x, tuple) else (split.x,)), split.y)


def rows(split) -> set[bytes]:
    """Each sample's bytes (all inputs and the target), to compare splits."""
    parts = [np.ascontiguousarray(array).reshape(len(array), -1).view(np.uint8)
             for array in arrays_of(split)]
    return {b"".join(part[index].tobytes() for part in parts) for index in range(len(split))}


def test_every_offline_loader_is_listed_here():
    """A new loader needing no files should join the determinism tests below."""
    needs_files = {"text_file", "tinyshakespeare", "nietzsche", "mnist", "fashion_mnist",
                   "cifar10", "imdb", "image_folder"}
    assert set(data_registry.names()) == set(OFFLINE) | needs_files


@pytest.mark.parametrize("name", OFFLINE)
def test_same_seed_same_content_other_seed_other_split(name):
    first = load(name, 0, **OFFLINE[name])
    again = load_data(name, seed=0, **OFFLINE[name])
    other = load(name, 1, **OFFLINE[name])
    assert first.content_hash() == again.content_hash()
    assert first.content_hash() != other.content_hash()
    assert first.fingerprint()["sha256"] == first.content_hash()
    assert first.sizes() == {"train": len(first.train), "validation": len(first.validation),
                             "test": len(first.test)}


@pytest.mark.parametrize("name", OFFLINE)
def test_splits_are_non_empty_consistent_and_fit_the_hints(name):
    data = load(name, 0, **OFFLINE[name])
    assert len(data.train) > len(data.validation) > 0 and len(data.test) > 0
    for split in (data.train, data.validation, data.test):
        for array in arrays_of(split):
            assert len(array) == len(split)
            assert array.dtype in (np.float32, np.int32)
            assert np.isfinite(array).all()
        for values in split.info.values():
            assert len(values) == len(split)
        inputs = split.x[0] if isinstance(split.x, tuple) else split.x
        if "input_shape" in data.model_hints:
            assert inputs.shape[1:] == tuple(data.model_hints["input_shape"])
    hints = data.model_hints
    assert set(hints) <= {"input_shape", "num_classes", "vocabulary_size", "horizon",
                          "users", "items"}
    if "users" in hints:  # ids (user, item) index the model's embedding tables
        users, items = data.train.x
        assert 0 <= users.min() and users.max() < hints["users"]
        assert 0 <= items.min() and items.max() < hints["items"]
    if "num_classes" in hints:
        assert set(np.unique(data.train.y)) == set(range(hints["num_classes"]))
        assert len(data.extras["class_names"]) == hints["num_classes"]
    if "vocabulary_size" in hints:
        assert len(data.extras["vocabulary"]) == hints["vocabulary_size"]
        assert data.extras["vocabulary"][0] == ""  # id 0 is padding
        for array in arrays_of(data.train):
            if array.dtype == np.int32 and array.ndim > 1:
                assert 0 <= array.min() and array.max() < hints["vocabulary_size"]


@pytest.mark.parametrize("name", OFFLINE)
def test_splits_feed_the_training_pipeline(name):
    data = load(name, 0, **OFFLINE[name]).head(train=40, validation=8, test=8)
    batches = list(pipeline.training_dataset(data.train, batch_size=16, seed=0, epochs=1))
    assert [len(labels) for _, labels in batches] == [16, 16, 8]
    features, labels = batches[0]
    expected = data.train.x[0] if isinstance(data.train.x, tuple) else data.train.x
    first = features[0] if isinstance(features, tuple) else features
    assert tuple(first.shape[1:]) == expected.shape[1:]
    assert labels.shape[1:] == data.train.y.shape[1:]


def test_pipelines_leave_tf_data_autotuning_off():
    # Its thread can hold up the deletion of an iterator by seconds (pipeline._untuned).
    data = load("digits", 0).head(train=40, validation=8, test=8)
    for dataset in (pipeline.training_dataset(data.train, 16, seed=0, epochs=1),
                    pipeline.evaluation_dataset(data.validation, 16)):
        assert dataset.options().autotune.enabled is False


def test_head_keeps_per_sample_info_aligned():
    data = load("digits_anomaly")
    small = data.head(train=5, validation=5, test=30)
    assert len(small.test.info["is_anomaly"]) == 30
    np.testing.assert_array_equal(small.test.info["label"], data.test.info["label"][:30])
    assert small.test.info["is_anomaly"].any() and not small.test.info["is_anomaly"].all()


# --- digits -------------------------------------------------------------------------------

def test_digits_default_is_unchanged_flat_classification():
    data = load("digits")
    assert data.sizes() == {"train": 1257, "validation": 270, "test": 270}
    assert data.train.x.shape == (1257, 64) and data.train.y.dtype == np.int32
    assert data.model_hints == {"input_shape": (64,), "num_classes": 10}


def test_digits_upsampled_noisy_images_with_clean_targets():
    data = load("digits", image=True, image_size=32, targets="images", noise=0.3)
    plain = load("digits", image=True, image_size=32, targets="images")
    assert data.train.x.shape == (1257, 32, 32, 1) and data.train.y.shape == (1257, 32, 32, 1)
    assert data.model_hints == {"input_shape": (32, 32, 1)}  # no classes for an autoencoder
    np.testing.assert_array_equal(data.train.y, plain.train.y)  # targets stay clean
    np.testing.assert_array_equal(plain.train.x, plain.train.y)
    difference = np.abs(data.train.x - data.train.y)
    assert 0.1 < difference.mean() < 0.3 and 0 <= data.train.x.min() and data.train.x.max() <= 1
    # Same digits as the label split of the same seed, labels kept beside the images.
    np.testing.assert_array_equal(data.train.info["label"], load("digits").train.y)


def test_digits_upsampling_keeps_the_picture():
    small, large = load("digits", image=True), load("digits", image=True, image_size=16)
    shrunk = large.train.x.reshape(-1, 8, 2, 8, 2).mean(axis=(2, 4))
    same = np.abs(shrunk - small.train.x[..., 0]).mean()
    other = np.abs(shrunk - np.roll(small.train.x[..., 0], 1, axis=0)).mean()
    assert same < 0.1 and same < other / 3  # bilinear blurs a little, nothing more


def test_digits_anomaly_holds_the_class_out_of_training():
    data = load("digits_anomaly", anomaly_class=3)
    assert 3 not in data.train.info["label"] and 3 not in data.validation.info["label"]
    assert not data.train.info["is_anomaly"].any()
    test = data.test.info
    np.testing.assert_array_equal(test["is_anomaly"], test["label"] == 3)
    assert test["is_anomaly"].sum() == 183  # every 3 of the 1 797 digits
    assert data.extras["normal_classes"] == [0, 1, 2, 4, 5, 6, 7, 8, 9]
    np.testing.assert_array_equal(data.test.x, data.test.y)


# --- shapes -------------------------------------------------------------------------------

def test_shapes_are_balanced_whole_and_varied():
    data = load("shapes", samples=400)
    assert data.model_hints == {"input_shape": (32, 32, 3), "num_classes": 4}
    labels = np.concatenate([data.train.y, data.validation.y, data.test.y])
    assert np.bincount(labels).tolist() == [100, 100, 100, 100]
    images = data.train.x
    assert images.dtype == np.float32 and images.min() >= 0 and images.max() <= 1
    # The border rows are background: every shape stays inside its canvas.
    border = np.concatenate([images[:, 0], images[:, -1], images[:, :, 0], images[:, :, -1]],
                            axis=1)
    centre = images[:, 8:24, 8:24]
    assert (border.std(axis=1).mean(axis=-1) < centre.std(axis=(1, 2)).mean(axis=-1)).mean() > 0.9
    assert len(rows(data.train)) == len(data.train)


def test_shapes_classes_are_not_told_apart_by_colour():
    """Mean colour per image says nothing of the class: a model must see form."""
    data = load("shapes", samples=400)
    features = data.train.x.mean(axis=(1, 2))
    model = LogisticRegression(max_iter=1000).fit(features, data.train.y)
    assert model.score(data.test.x.mean(axis=(1, 2)), data.test.y) < 0.45


def test_shapes_size_and_rejects_impossible_sizes():
    data = load_data("shapes", samples=40, image_size=[16, 24], noise=0.0)
    assert data.train.x.shape[1:] == (16, 24, 3)
    with pytest.raises(KerazooError, match=r"larger shapes would leave.*max_size=0\.9$"):
        load_data("shapes", max_size=0.9)


# --- text ---------------------------------------------------------------------------------

def test_python_docs_windows_are_the_text_shifted_by_one():
    data = load("python_docs")
    vocabulary = data.extras["vocabulary"]
    text = python_docs_text()
    assert len(text) > 400_000 and data.extras["characters"] == len(text)
    assert data.model_hints == {"input_shape": (100,), "vocabulary_size": len(vocabulary)}
    np.testing.assert_array_equal(data.train.x[:, 1:], data.train.y[:, :-1])
    for window, target in zip(data.test.x[:5], data.test.y[:5], strict=True):
        assert decode(window, vocabulary) + decode(target[-1:], vocabulary) in text
    assert 4.5 < data.extras["unigram_entropy_bits"] < 4.9  # the issue quotes 4.69
    # stride = window: each text character appears once among the windows' targets.
    total = sum(len(split) for split in (data.train, data.validation, data.test))
    assert 0.9 * len(text) < total * 100 <= len(text)


def test_blocks_never_overlap_across_splits():
    span, stride = 11, 5
    starts = blocks.block_split(2000, span, stride, block_windows=7, seed=3,
                                validation_fraction=0.1, test_fraction=0.2)
    owner = np.full(2000, -1)
    for part, part_starts in enumerate(starts):
        for start in part_starts:
            covered = owner[start:start + span]
            assert ((covered == -1) | (covered == part)).all()
            owner[start:start + span] = part
        assert len(part_starts) > 0
    assert len(starts[2]) > len(starts[1])
    with pytest.raises(KerazooError, match="too short to split"):
        blocks.block_split(30, span, stride, 7, 0, 0.1, 0.1)


def test_text_windows_options():
    data = load_data("python_docs", window=20, stride=10)
    np.testing.assert_array_equal(data.train.x[0, 10:], data.train.x[1, :10])
    assert data.train.x.shape[1] == 20
    with pytest.raises(KerazooError, match=r"^`window` must be a positive integer. "
                                           r"Received: window=0$"):
        load_data("python_docs", window=0)


# --- sequences ----------------------------------------------------------------------------

def test_temporal_order_needs_order_not_counts():
    data = load("temporal_order", samples=2000)
    assert data.model_hints == {"input_shape": (40,), "num_classes": 8, "vocabulary_size": 7}
    assert data.extras["class_names"][:3] == ["XXX", "XXY", "XYX"]
    vocabulary = data.extras["vocabulary"]
    for sequence, label in zip(data.train.x[:20], data.train.y[:20], strict=True):
        symbols = "".join(token for token in decode(sequence, vocabulary) if token in "XY")
        assert symbols == data.extras["class_names"][label]

    def bag(split):
        return np.stack([(split.x == token).sum(axis=1) for token in range(1, 7)], axis=1)

    model = LogisticRegression(max_iter=2000).fit(bag(data.train), data.train.y)
    assert model.score(bag(data.test), data.test.y) < 0.6  # at best 50 % without order


def test_addition_layout():
    data = load("addition", samples=2000)
    vocabulary = data.extras["vocabulary"]
    start, end = data.extras["start_id"], data.extras["end_id"]
    source, decoder_inputs = data.train.x
    assert source.shape[1] == 7 and decoder_inputs.shape[1] == 5 == data.train.y.shape[1]
    for question, given, target in zip(source[:50], decoder_inputs[:50], data.train.y[:50],
                                       strict=True):
        first, second = decode(question, vocabulary).split("+")
        answer = str(int(first) + int(second))
        assert given[0] == start and decode(given[1:], vocabulary) == answer
        assert list(target[:len(answer) + 1]) == [*given[1:len(answer) + 1], end]
        assert not target[len(answer) + 1:].any()  # padding after <end>
    every_split = [split.x[0] for split in (data.train, data.validation, data.test)]
    questions = {row.tobytes() for part in every_split for row in part}
    assert len(questions) == 2000  # distinct questions: none shared across splits


def test_addition_reversed_questions():
    plain = load("addition", samples=2000)
    flipped = load("addition", samples=2000, reverse_source=True)
    vocabulary = plain.extras["vocabulary"]
    for a, b in zip(plain.test.x[0][:20], flipped.test.x[0][:20], strict=True):
        assert decode(a, vocabulary)[::-1] == decode(b, vocabulary)
    with pytest.raises(KerazooError, match=r"samples=60$"):
        load_data("addition", max_digits=1, samples=60)


def test_series_is_beatable_but_not_by_the_last_value():
    data = load("seasonal_series", length=3000)
    assert data.model_hints == {"input_shape": (72, 5), "horizon": 12}
    np.testing.assert_array_equal(data.test.info["last_value"], data.test.x[:, -1, 0])
    last_value = np.repeat(data.test.info["last_value"][:, None], 12, axis=1)
    naive = np.abs(last_value - data.test.y).mean()
    model = Ridge(alpha=1.0).fit(data.train.x.reshape(len(data.train), -1), data.train.y)
    learned = np.abs(model.predict(data.test.x.reshape(len(data.test), -1)) - data.test.y)
    assert learned.mean() < 0.5 * naive
    # The training windows are standardized.
    assert abs(data.train.x[:, :, 0].mean()) < 0.1 and 0.9 < data.train.x[:, :, 0].std() < 1.1


@pytest.mark.parametrize("split", ["chronological", "blocks"])
def test_series_windows_never_overlap_across_splits(split):
    data = load_data("seasonal_series", length=3000, split=split)
    window, horizon = 72, 12
    owner = np.full(3000, -1)
    for part, piece in enumerate((data.train, data.validation, data.test)):
        for time in piece.info["time"]:
            covered = owner[time - window:time + horizon]
            assert ((covered == -1) | (covered == part)).all()
            owner[time - window:time + horizon] = part
    if split == "chronological":
        assert data.train.info["time"].max() < data.validation.info["time"].min()
        assert data.validation.info["time"].max() < data.test.info["time"].min()


# --- argument checks ----------------------------------------------------------------------

@pytest.mark.parametrize("name, kwargs, message", [
    ("digits", {"targets": "pixels"}, r"`targets` must be one of 'labels', 'images'. "
                                      r"Received: targets='pixels'"),
    ("digits", {"image_size": 4}, r"`image_size` must be an integer of at least 8. "
                                  r"Received: image_size=4"),
    ("digits", {"validation_fraction": 0}, r"Received: validation_fraction=0"),
    ("digits", {"test_fraction": 0.5, "validation_fraction": 0.5}, r"must be below 1"),
    ("digits", {"image": "yes"}, r"`image` must be true or false. Received: image='yes'"),
    ("digits_anomaly", {"anomaly_class": 10}, r"Received: anomaly_class=10"),
    ("shapes", {"samples": 5}, r"Received: samples=5"),
    ("temporal_order", {"relevant_symbols": 9}, r"Received: relevant_symbols=9"),
    ("seasonal_series", {"split": "random"}, r"Received: split='random'"),
    ("seasonal_series", {"length": 100}, r"Received: length=100"),
    ("python_docs", {"seed": -1}, r"`seed` must be a non-negative integer. Received: seed=-1"),
])
def test_bad_arguments_are_one_line_errors(name, kwargs, message):
    with pytest.raises(KerazooError, match=message) as raised:
        load_data(name, **kwargs)
    assert "\n" not in str(raised.value)
