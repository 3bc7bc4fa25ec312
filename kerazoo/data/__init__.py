"""Data loaders. Importing this package registers the built-in loaders.

A loader is `(seed, **kwargs) -> DataSplits`, registered with `@register_data`; plugins add
more through the `kerazoo.data` entry-point group.
"""

from kerazoo.data.addition import addition
from kerazoo.data.cifar10 import cifar10
from kerazoo.data.digits import digits
from kerazoo.data.digits_anomaly import digits_anomaly
from kerazoo.data.image_folder import image_folder
from kerazoo.data.imdb import imdb
from kerazoo.data.line import line
from kerazoo.data.mnist import fashion_mnist, mnist
from kerazoo.data.planar import planar
from kerazoo.data.ratings import ratings
from kerazoo.data.shapes import shapes
from kerazoo.data.splits import DataSplits, Split, split_three_ways
from kerazoo.data.temporal_order import temporal_order
from kerazoo.data.text import nietzsche, python_docs, text_file, tinyshakespeare
from kerazoo.data.time_series import seasonal_series
from kerazoo.registry import data_registry, register_data


def load_data(name: str, seed: int = 0, **kwargs) -> DataSplits:
    """Run the registered loader `name` with the given keywords."""
    entry = data_registry.get(name)
    entry.check_keywords(kwargs, "data loader")
    return entry(seed=seed, **kwargs)


__all__ = ["DataSplits", "Split", "addition", "cifar10", "digits", "digits_anomaly",
           "fashion_mnist", "image_folder", "imdb", "line", "load_data", "mnist", "nietzsche",
           "planar", "python_docs", "ratings", "register_data", "seasonal_series", "shapes",
           "split_three_ways", "temporal_order", "text_file", "tinyshakespeare"]
