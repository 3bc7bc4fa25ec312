"""`train.precision`: the Keras dtype policy a recipe's model is built under.

Keras fixes a layer's compute dtype when the layer is created, from the global policy, so
the policy only has to hold while the builder runs. It is set for that span and the previous
one restored after, so a process that runs several recipes (a sweep, the tests) trains each
under its own. Builders keep their output layers in float32 (kerazoo/arguments.py
OUTPUT_DTYPE), as Keras' mixed-precision guide asks. Loss scaling, which float16 needs so
small gradients do not flush to zero, is Keras' own: `compile` wraps the optimizer in a
`LossScaleOptimizer` when the model's policy is mixed_float16.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import keras


@contextlib.contextmanager
def dtype_policy(name: str) -> Iterator[None]:
    """Build layers under the dtype policy `name`; the global policy is restored after."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)
