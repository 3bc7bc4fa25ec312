"""Seeding. The same recipe and seed must give the same metrics on CPU."""

from __future__ import annotations

import keras


def seed_everything(seed: int, deterministic_ops: bool = True) -> bool:
    """Seed Python, NumPy and the backend; enforce deterministic TensorFlow ops if asked.

    Returns whether deterministic ops are enforced (logged with the run).
    """
    keras.utils.set_random_seed(seed)
    if keras.backend.backend() != "tensorflow":
        return False  # JAX is deterministic on CPU by construction
    import tensorflow as tf

    if deterministic_ops:
        tf.config.experimental.enable_op_determinism()
    else:  # a process may run a deterministic recipe first (a sweep, a lesson, the tests)
        _disable_op_determinism()
    return deterministic_ops


def _disable_op_determinism() -> None:
    """TensorFlow's public API can turn deterministic ops on but not off (2.21 exports only
    `enable_op_determinism`); the switch back lives beside it, in its framework config."""
    import tensorflow as tf
    from tensorflow.python.framework import config

    getattr(tf.config.experimental, "disable_op_determinism", config.disable_op_determinism)()
