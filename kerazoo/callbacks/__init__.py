"""Callbacks for any `model.fit`. Importing this package registers them by name for recipes."""

from kerazoo.callbacks import keras_builtins  # noqa: F401  (registers Keras' own callbacks)
from kerazoo.registry import callback_registry, register_callback


def make_callback(name: str, **kwargs):
    """Instantiate the registered callback `name` with keyword arguments."""
    entry = callback_registry.get(name)
    entry.check_keywords(kwargs, "callback")
    return entry(**kwargs)


__all__ = ["make_callback", "register_callback"]
