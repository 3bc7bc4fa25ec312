"""Loaders that read files: tiny fakes written in the exact layouts Keras (or Debian) leaves,
found through a HOME pointed at a temporary folder, or through `path`."""

from __future__ import annotations

import gzip
import json
import os
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest

from kerazoo.data import load_data
from kerazoo.data.char_windows import decode
from kerazoo.errors import KerazooError

CLASSES = 10


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """An empty home: the Keras cache is `home/.keras/datasets`."""
    folder = tmp_path / "home"
    (folder / ".keras" / "datasets").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(folder))
    monkeypatch.delenv("KERAS_HOME", raising=False)
    return folder


def datasets(home: Path) -> Path:
    return home / ".keras" / "datasets"


def fake_images(count: int, shape: tuple[int, ...], seed: int) -> tuple[np.ndarray, np.ndarray]:
    generator = np.random.default_rng(seed)
    images = generator.integers(0, 256, (count, *shape), dtype=np.uint8)
    labels = (np.arange(count) % CLASSES).astype(np.uint8)
    return images, labels


def write_mnist_npz(path: Path) -> None:
    x_train, y_train = fake_images(100, (28, 28), 0)
    x_test, y_test = fake_images(20, (28, 28), 1)
    np.savez_compressed(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)


def write_idx(path: Path, array: np.ndarray) -> None:
    """LeCun's IDX format: zero, zero, type 0x08 (uint8), rank, big-endian sides, data."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as file:
        file.write(header + array.tobytes())


def write_fashion(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    x_train, y_train = fake_images(100, (28, 28), 2)
    x_test, y_test = fake_images(20, (28, 28), 3)
    for name, array in [("train-images-idx3-ubyte", x_train), ("train-labels-idx1-ubyte", y_train),
                        ("t10k-images-idx3-ubyte", x_test), ("t10k-labels-idx1-ubyte", y_test)]:
        write_idx(folder / f"{name}.gz", array)


def write_cifar(folder: Path) -> None:
    """Python-pickled batches with bytes keys and channels-first rows, as CIFAR ships them."""
    folder.mkdir(parents=True)
    for index, name in enumerate([*(f"data_batch_{n}" for n in range(1, 6)), "test_batch"]):
        pixels, labels = fake_images(20, (3 * 32 * 32,), 10 + index)
        batch = {b"batch_label": name.encode(), b"data": pixels,
                 b"labels": [int(label) for label in labels]}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=4))


def write_imdb(folder: Path) -> None:
    generator = np.random.default_rng(4)

    def reviews(count):
        ragged = np.empty(count, dtype=object)
        for index in range(count):
            ragged[index] = [int(rank) for rank in generator.integers(1, 40, 5 + index % 30)]
        return ragged

    np.savez(folder / "imdb.npz", x_train=reviews(40), y_train=np.arange(40) % 2,
             x_test=reviews(20), y_test=np.arange(20) % 2)
    words = {f"word{rank}": rank for rank in range(1, 40)}
    (folder / "imdb_word_index.json").write_text(json.dumps(words))


def check_official_split(name: str, **kwargs) -> None:
    """Classic datasets keep the official test split; the seed moves train/validation."""
    data = load_data(name, seed=0, **kwargs)
    assert data.sizes() == {"train": 90, "validation": 10, "test": 20}
    assert np.bincount(data.validation.y).tolist() == [1] * 10  # stratified
    again, other = load_data(name, seed=0, **kwargs), load_data(name, seed=1, **kwargs)
    assert data.content_hash() == again.content_hash() != other.content_hash()
    np.testing.assert_array_equal(data.test.x, other.test.x)
    assert data.train.x.dtype == np.float32 and 0 <= data.train.x.min() <= data.train.x.max() <= 1
    assert data.model_hints["num_classes"] == 10 == len(data.extras["class_names"])
    assert data.train.x.shape[1:] == tuple(data.model_hints["input_shape"])
    seen = {row.tobytes() for row in data.train.x} | {row.tobytes() for row in data.test.x}
    assert not {row.tobytes() for row in data.validation.x} & seen


def assert_not_found(name: str, *fragments: str, **kwargs) -> None:
    with pytest.raises(KerazooError) as raised:
        load_data(name, **kwargs)
    message = str(raised.value)
    assert "\n" not in message and "not found locally" in message
    for fragment in fragments:
        assert fragment in message


# --- classic datasets ---------------------------------------------------------------------

def test_mnist_from_the_keras_cache(home):
    assert_not_found("mnist", str(datasets(home) / "mnist.npz"), "--download")
    write_mnist_npz(datasets(home) / "mnist.npz")
    check_official_split("mnist")
    data = load_data("mnist")
    assert data.train.x.shape[1:] == (28, 28, 1)
    assert data.source == str(datasets(home) / "mnist.npz")


def test_mnist_from_a_path_the_user_gives(home, tmp_path):
    write_mnist_npz(tmp_path / "elsewhere.npz")
    check_official_split("mnist", path=str(tmp_path / "elsewhere.npz"))
    with pytest.raises(KerazooError, match=r"^MNIST: `path` must be Keras' mnist.npz or a "
                                           r"folder holding it. Received: path="):
        load_data("mnist", path=str(tmp_path))
    (tmp_path / "broken.npz").write_bytes(np.zeros(3).tobytes())
    with pytest.raises(KerazooError, match="cannot read MNIST file"):
        load_data("mnist", path=str(tmp_path / "broken.npz"))


def test_fashion_mnist_from_the_keras_cache(home):
    if not Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz").exists():
        assert_not_found("fashion_mnist", "apt-get install dataset-fashion-mnist",
                         str(datasets(home) / "fashion-mnist"))
    write_fashion(datasets(home) / "fashion-mnist")
    check_official_split("fashion_mnist")
    assert load_data("fashion_mnist").extras["class_names"][9] == "Ankle boot"


def test_fashion_mnist_reads_the_debian_layout(tmp_path):
    """The Debian package's folder holds the same four .gz files as Keras' cache."""
    write_fashion(tmp_path / "usr-share-datasets-fashion-mnist")
    check_official_split("fashion_mnist", path=str(tmp_path / "usr-share-datasets-fashion-mnist"))
    (tmp_path / "usr-share-datasets-fashion-mnist" / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(KerazooError, match=r"`path` must be a folder holding"):
        load_data("fashion_mnist", path=str(tmp_path / "usr-share-datasets-fashion-mnist"))


@pytest.mark.skipif(not Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")
                    .exists(), reason="Debian package dataset-fashion-mnist not installed")
def test_fashion_mnist_real_debian_package(home):
    data = load_data("fashion_mnist")
    assert data.source == "/usr/share/datasets/fashion-mnist"
    assert data.sizes() == {"train": 54000, "validation": 6000, "test": 10000}
    assert np.bincount(data.test.y).tolist() == [1000] * 10


def test_idx_header_is_checked(tmp_path):
    folder = tmp_path / "fashion"
    write_fashion(folder)
    with gzip.open(folder / "train-images-idx3-ubyte.gz", "wb") as file:
        file.write(b"not an idx file")
    with pytest.raises(KerazooError, match="is not an IDX file"):
        load_data("fashion_mnist", path=str(folder))


@pytest.mark.parametrize("layout", [("cifar-10-batches-py-target", "cifar-10-batches-py"),
                                    ("cifar-10-batches-py",)])
def test_cifar10_in_keras_3_and_older_cache_layouts(home, layout):
    assert_not_found("cifar10", "cifar-10-batches-py-target", "--download")
    write_cifar(datasets(home).joinpath(*layout))
    data = load_data("cifar10")
    assert data.sizes() == {"train": 90, "validation": 10, "test": 20}
    assert data.train.x.shape[1:] == (32, 32, 3) and data.extras["class_names"][0] == "airplane"
    assert load_data("cifar10", seed=1).content_hash() != data.content_hash()


def test_cifar10_channels_are_unpacked_channels_last(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    write_cifar(folder)
    test = load_data("cifar10", path=str(tmp_path)).test  # the parent folder works too
    raw = pickle.loads((folder / "test_batch").read_bytes())[b"data"][0]
    np.testing.assert_allclose(test.x[0, :, :, 1] * 255, raw[1024:2048].reshape(32, 32),
                               atol=1e-3)


def test_pickles_that_run_code_are_refused(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    write_cifar(folder)

    class Payload:
        def __reduce__(self):
            return (os.system, ("echo pwned > " + str(tmp_path / "pwned"),))

    (folder / "data_batch_1").write_bytes(pickle.dumps({b"data": Payload()}, protocol=4))
    with pytest.raises(KerazooError, match=r"refusing to load (posix|os)\.system"):
        load_data("cifar10", path=str(folder))
    assert not (tmp_path / "pwned").exists()


def test_imdb_from_the_keras_cache(home):
    assert_not_found("imdb", "imdb.npz", "--download")
    write_imdb(datasets(home))
    data = load_data("imdb", vocabulary_size=20, sequence_length=16)
    assert data.sizes() == {"train": 36, "validation": 4, "test": 20}
    assert data.model_hints == {"input_shape": (16,), "num_classes": 2, "vocabulary_size": 20}
    assert data.train.x.dtype == np.int32 and data.train.x.max() < 20
    vocabulary = data.extras["vocabulary"]
    assert vocabulary[:4] == ["", "<start>", "<unknown>", "<unused>"] and vocabulary[4] == "word1"
    # Short reviews are padded in front and begin with <start>; long ones keep their end.
    test = data.test.x
    assert test[0, :10].tolist() == [0] * 10 and test[0, 10] == 1  # review 0 has 5 words
    with np.load(datasets(home) / "imdb.npz", allow_pickle=True) as archive:
        ranks = archive["x_test"][19]  # 24 words: the start and the first 8 are cut
    assert test[19].tolist() == [rank + 3 if rank + 3 < 20 else 2 for rank in ranks][-16:]
    assert all(word.startswith("word") or word == "<unknown>"
               for word in (vocabulary[i] for i in test[0, 11:]))
    assert load_data("imdb", seed=1).content_hash() != load_data("imdb").content_hash()


def test_imdb_without_word_index_has_no_vocabulary(tmp_path):
    write_imdb(tmp_path)
    (tmp_path / "imdb_word_index.json").unlink()
    data = load_data("imdb", path=str(tmp_path))
    assert "vocabulary" not in data.extras and data.extras["class_names"][1] == "positive"


# --- text files ---------------------------------------------------------------------------

def test_text_file_by_path(tmp_path):
    text = "".join(f"line {index}: the quick brown fox jumps over the lazy dog\n"
                   for index in range(300))
    (tmp_path / "notes.txt").write_text(text)
    data = load_data("text_file", path=str(tmp_path / "notes.txt"), window=30)
    assert data.model_hints["input_shape"] == (30,)
    assert decode(data.train.x[0], data.extras["vocabulary"]) in text
    assert load_data("text_file", seed=1, path=str(tmp_path / "notes.txt"),
                     window=30).content_hash() != data.content_hash()


@pytest.mark.parametrize("content, message", [
    (None, "does not exist"),
    ("", "is empty"),
    ("   \n\n", "is empty"),
    (b"\xff\xfe\x00binary", "is not UTF-8 text"),
    ("too short", "too short to split"),
])
def test_text_file_mistakes_are_one_line(tmp_path, content, message):
    path = tmp_path / "input.txt"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(KerazooError, match=message) as raised:
        load_data("text_file", path=str(path))
    assert "\n" not in str(raised.value)


def test_text_file_needs_a_path():
    with pytest.raises(KerazooError, match=r"needs `path`.*Received: path=None$"):
        load_data("text_file")


@pytest.mark.parametrize("name, relative", [
    ("tinyshakespeare", ("shakespeare.txt",)),
    ("tinyshakespeare", ("tinyshakespeare", "input.txt")),
    ("nietzsche", ("nietzsche.txt",)),
])
def test_classic_corpora_from_the_keras_cache(home, name, relative):
    assert_not_found(name, "https://", "--download")
    target = datasets(home).joinpath(*relative)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("First Citizen:\nBefore we proceed any further, hear me speak.\n" * 200)
    data = load_data(name, window=50)
    assert data.source == str(target) and data.name == name


# --- image folders ------------------------------------------------------------------------

def write_image_folder(folder: Path, per_class: int = 10) -> None:
    from PIL import Image

    generator = np.random.default_rng(5)
    for class_name, colour in (("blue", 2), ("red", 0)):
        (folder / class_name).mkdir(parents=True)
        for index in range(per_class):
            pixels = generator.integers(0, 60, (20, 30, 3), dtype=np.uint8)
            pixels[..., colour] = 200
            Image.fromarray(pixels).save(folder / class_name / f"{index}.png")


def test_image_folder(tmp_path):
    write_image_folder(tmp_path / "photos")
    data = load_data("image_folder", path=str(tmp_path / "photos"), image_size=[16, 24])
    assert data.extras["class_names"] == ["blue", "red"]
    assert data.model_hints == {"input_shape": (16, 24, 3), "num_classes": 2}
    assert data.sizes() == {"train": 14, "validation": 3, "test": 3}
    red = data.train.x[data.train.y == 1]
    assert red[..., 0].mean() > 0.7 > red[..., 2].mean()
    again = load_data("image_folder", path=str(tmp_path / "photos"), image_size=[16, 24])
    other = load_data("image_folder", seed=1, path=str(tmp_path / "photos"),
                      image_size=[16, 24])
    assert data.content_hash() == again.content_hash() != other.content_hash()
    gray = load_data("image_folder", path=str(tmp_path / "photos"), image_size=8,
                     color_mode="grayscale")
    assert gray.train.x.shape[1:] == (8, 8, 1)


@pytest.mark.parametrize("setup, message", [
    ("missing", "does not exist"),
    ("empty", "has no images"),
    ("flat", "has no images"),
    ("too_many", "more than `max_images`"),
])
def test_image_folder_mistakes_are_one_line(tmp_path, setup, message):
    folder = tmp_path / "photos"
    if setup == "empty":
        (folder / "cats").mkdir(parents=True)
    elif setup == "flat":  # images but no class subfolders
        write_image_folder(tmp_path / "source", per_class=2)
        folder.mkdir()
        (tmp_path / "source" / "red" / "0.png").rename(folder / "0.png")
    elif setup == "too_many":
        write_image_folder(folder, per_class=3)
    with pytest.raises(KerazooError, match=message) as raised:
        load_data("image_folder", path=str(folder), max_images=5)
    assert "\n" not in str(raised.value)
