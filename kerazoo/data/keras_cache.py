"""Finding classic datasets where Keras keeps them, and fetching them only when asked.

`keras.utils.get_file` caches under `$KERAS_HOME/datasets`, else `~/.keras/datasets`, and
under `/tmp/.keras/datasets` when that home is not writable. kerazoo looks in the same
places (computed at call time, so a changed HOME or KERAS_HOME is honoured) and reads the
files in the layout Keras' own loaders leave there. Nothing is downloaded unless a loader is
called with `download=True` (the CLI's `--download`).
"""

from __future__ import annotations

import os
import pickle
import zipfile
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from kerazoo.errors import KerazooError

DOWNLOAD_HINT = "run with --download (or set data.download=true)"
# What reading a truncated or foreign file raises, by format: npz (zip), gzip, pickle. A
# reader catches these around the read and says which file is at fault.
UNREADABLE = (OSError, EOFError, ValueError, KeyError, TypeError, zipfile.BadZipFile,
              zlib.error, pickle.UnpicklingError)


def keras_datasets_dirs() -> list[Path]:
    """The datasets folder Keras would download into now (mirroring keras.config's choice of
    home and get_file's fallback to /tmp), then /tmp's when Keras would fall back there."""
    if os.environ.get("KERAS_HOME"):
        home = Path(os.environ["KERAS_HOME"]).expanduser()
    else:
        user_home = Path.home()
        home = (user_home if os.access(user_home, os.W_OK) else Path("/tmp")) / ".keras"
    folders = [home / "datasets"]
    fallback = Path("/tmp/.keras/datasets")
    if not os.access(home, os.W_OK) and fallback not in folders:
        folders.append(fallback)
    return folders


def in_keras_cache(*relative: str) -> list[Path]:
    """Every place Keras may have cached `relative` (a file or folder under datasets/)."""
    return [directory.joinpath(*relative) for directory in keras_datasets_dirs()]


def first_existing(candidates: Iterable[Path], exists: Callable[[Path], bool]) -> Path | None:
    return next((path for path in candidates if exists(path)), None)


def not_found(title: str, looked_in: Iterable[Path], how_to_get: str) -> KerazooError:
    places = ", ".join(str(path) for path in looked_in)
    return KerazooError(f"{title} not found locally (looked in {places}); {how_to_get}")


def unreadable(title: str, path: Path, error: BaseException) -> KerazooError:
    message = " ".join(str(error).split())[:200]
    return KerazooError(f"cannot read {title} file {str(path)!r} (truncated, or not in its "
                        f"format): {type(error).__name__}: {message}")


def check_images(title: str, source: Path, images: Any, labels: Any, rank: int) -> None:
    """Images (n, side, side[, channels]) and one label per image, as a dataset's own files
    hold them; a foreign or damaged file fails here, not inside the split or the model."""
    shape = getattr(images, "shape", None)
    if shape is None or len(shape) != rank or 0 in shape[1:]:
        raise KerazooError(f"{title} in {str(source)!r}: the images have shape {shape}, not "
                           f"{rank} axes of images")
    if getattr(labels, "ndim", None) != 1 or len(labels) != len(images):
        raise KerazooError(f"{title} in {str(source)!r}: {len(images)} images but labels of "
                           f"shape {getattr(labels, 'shape', None)}")


def user_path_missing(title: str, path: Path, expected: str) -> KerazooError:
    return KerazooError(f"{title}: `path` must be {expected}. Received: path={str(path)!r}")


def locate(title: str, candidates: list[Path], exists: Callable[[Path], bool], *,
           download: bool, fetcher: Callable[[], object], how_to_get: str) -> Path:
    """The first candidate that exists; else, when `download` allows it, fetch and look again;
    else a one-line error naming the places looked in and how to get the data."""
    found = first_existing(candidates, exists)
    if found is None and download:
        fetch(title, fetcher)
        found = first_existing(candidates, exists)
    if found is None:
        raise not_found(title, candidates, how_to_get)
    return found


def keras_module():
    """Keras, imported only once a download is asked for."""
    import keras

    return keras


def fetch(title: str, download: Callable[[], object]) -> None:
    """Run a Keras download function; a network failure becomes a one-line error."""
    try:
        download()
    except Exception as error:  # urllib, OSError, hash mismatch: all mean "could not fetch"
        message = " ".join(str(error).split())
        raise KerazooError(f"could not download {title}: {type(error).__name__}: "
                           f"{message[:200]}") from None
