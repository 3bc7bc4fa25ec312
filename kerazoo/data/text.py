"""Where character-level texts come from: CPython's own docs, a user's file, classic corpora.

Each loader reads one text and hands it to `char_windows.character_splits`; they share its
keywords (window, stride, block_windows, validation_fraction, test_fraction).
"""

from __future__ import annotations

import platform
from pathlib import Path

from kerazoo import arguments
from kerazoo.data import checks, keras_cache
from kerazoo.data.char_windows import character_splits
from kerazoo.errors import KerazooError
from kerazoo.registry import register_data

# Where the classic corpora are published, and the names they are cached under: the
# TensorFlow text-generation tutorial saves tiny Shakespeare as shakespeare.txt, Keras'
# character-LSTM example saves Nietzsche as nietzsche.txt, and Karpathy's char-rnn repository
# keeps tiny Shakespeare as tinyshakespeare/input.txt.
SHAKESPEARE_URL = "https://storage.googleapis.com/download.tensorflow.org/data/shakespeare.txt"
SHAKESPEARE_NAMES = (("shakespeare.txt",), ("tinyshakespeare.txt",),
                     ("tinyshakespeare", "input.txt"))
NIETZSCHE_URL = "https://s3.amazonaws.com/text-datasets/nietzsche.txt"
NIETZSCHE_NAMES = (("nietzsche.txt",),)
# A text is read whole and cut into windows several times its size; beyond this a mistaken
# path (a disk image, a log) ends in a MemoryError. The classic corpora are about 1 MB.
MAX_BYTES = 64 * 2**20


def read_text(path: Path, what: str = "text file", max_bytes: int = MAX_BYTES,
              limit_option: str = "data.max_bytes") -> str:
    """A UTF-8 text file's contents; a missing, empty, binary or oversized file is a
    one-line error (the size is checked before anything is read)."""
    if not path.exists():
        raise KerazooError(f"{what} {str(path)!r} does not exist")
    if not path.is_file():
        raise KerazooError(f"{what} {str(path)!r} is not a file")
    size = path.stat().st_size
    if size > max_bytes:
        raise KerazooError(f"{what} {str(path)!r} is {size} bytes ({size / 2**20:.1f} MiB), "
                           f"more than the {max_bytes} bytes allowed; raise the limit with "
                           f"--set {limit_option}=N if it is meant. Received: {limit_option}="
                           f"{max_bytes}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise KerazooError(f"{what} {str(path)!r} is not UTF-8 text (byte {error.start} "
                           "cannot be decoded)") from None
    except OSError as error:
        raise KerazooError(f"cannot read {what} {str(path)!r}: {error.strerror}") from None
    if not text.strip():
        raise KerazooError(f"{what} {str(path)!r} is empty")
    return text


def python_docs_text() -> str:
    """The reference manual's topics that `help()` shows, about 465 000 characters in
    CPython 3.11: ships with every CPython, so it is always there offline."""
    from pydoc_data.topics import topics

    # Sorted by topic name: the dict's order is an implementation detail of its generator.
    return "\n\n".join(topics[name] for name in sorted(topics))


@register_data
def python_docs(seed=0, window=100, stride=None, block_windows=20, validation_fraction=0.1,
                test_fraction=0.1):
    """CPython's reference-manual topics (`pydoc_data.topics`) as character windows."""
    return character_splits(
        python_docs_text(), name="python_docs",
        source=f"pydoc_data.topics of CPython {platform.python_version()}",
        seed=seed, window=window, stride=stride, block_windows=block_windows,
        validation_fraction=validation_fraction, test_fraction=test_fraction)


@register_data
def text_file(seed=0, path=None, window=100, stride=None, block_windows=20,
              validation_fraction=0.1, test_fraction=0.1, max_bytes=MAX_BYTES):
    """Any UTF-8 text file as character windows; `max_bytes` bounds its size."""
    path = checks.optional_path("path", path)
    max_bytes = arguments.positive_int("max_bytes", max_bytes)
    if path is None:
        raise KerazooError("data loader 'text_file' needs `path`, the text file to read, "
                           "e.g. --set data.path=notes.txt. Received: path=None")
    return character_splits(
        read_text(path, max_bytes=max_bytes), name="text_file", source=str(path.resolve()),
        seed=seed,
        window=window, stride=stride, block_windows=block_windows,
        validation_fraction=validation_fraction, test_fraction=test_fraction)


def corpus_path(title: str, path, download: bool, names: tuple[tuple[str, ...], ...],
                url: str) -> Path:
    """The user's `path`, else the corpus in the Keras cache, else a download if allowed."""
    path = checks.optional_path("path", path)
    download = arguments.boolean("download", download)
    if path is not None:
        return path  # read_text reports a missing file
    candidates = [place for name in names for place in keras_cache.in_keras_cache(*name)]
    return keras_cache.locate(
        title, candidates, Path.is_file, download=download,
        fetcher=lambda: keras_cache.keras_module().utils.get_file(names[0][0], origin=url),
        how_to_get=f"save {url} as {candidates[0]}, pass data.path=FILE, or "
        f"{keras_cache.DOWNLOAD_HINT}")


@register_data
def tinyshakespeare(seed=0, path=None, download=False, window=100, stride=None,
                    block_windows=20, validation_fraction=0.1, test_fraction=0.1):
    """Karpathy's tiny Shakespeare (about 1.1 million characters), when found locally."""
    found = corpus_path("tiny Shakespeare", path, download, SHAKESPEARE_NAMES,
                        SHAKESPEARE_URL)
    return character_splits(
        read_text(found, "tiny Shakespeare file"), name="tinyshakespeare", source=str(found),
        seed=seed, window=window, stride=stride, block_windows=block_windows,
        validation_fraction=validation_fraction, test_fraction=test_fraction)


@register_data
def nietzsche(seed=0, path=None, download=False, window=100, stride=None, block_windows=20,
              validation_fraction=0.1, test_fraction=0.1):
    """Nietzsche's writings in English (about 600 000 characters), when found locally."""
    found = corpus_path("Nietzsche text", path, download, NIETZSCHE_NAMES, NIETZSCHE_URL)
    return character_splits(
        read_text(found, "Nietzsche file"), name="nietzsche", source=str(found), seed=seed,
        window=window, stride=stride, block_windows=block_windows,
        validation_fraction=validation_fraction, test_fraction=test_fraction)
