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
    else:
        tf.config.experimental.disable_op_determinism()
    return deterministic_ops
