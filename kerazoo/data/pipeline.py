"""Feed splits to `fit` through `tf.data` (Keras accepts it on every backend).

The training order of epoch e is a stateless permutation of (seed, e). That makes a run
resumed at epoch k see exactly the batches an uninterrupted run sees from epoch k on, which a
stateful `shuffle()` cannot promise.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from kerazoo.data.splits import Split


def _as_tensors(arrays):
    if isinstance(arrays, tuple):
        return tuple(tf.convert_to_tensor(array) for array in arrays)
    return tf.convert_to_tensor(arrays)


def _gather(tensors, positions):
    if isinstance(tensors, tuple):
        return tuple(tf.gather(tensor, positions) for tensor in tensors)
    return tf.gather(tensors, positions)


def _untuned(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """The dataset with tf.data's autotuning thread turned off.

    That thread sleeps in periods that double from 10 ms up to a minute, and deleting an
    iterator (Keras does at the end of every `fit` and after every validation pass) sometimes
    waits for its current sleep to end, so the call returns at the end of that period. Measured
    on the 2-core machine: 13 fits in 70 of an LSTM that trains in 2.5 s returned after 5.1 s
    (10 + 20 + ... + 2560 ms), and a 1-epoch char_rnn took 43 s instead of 26. In-memory
    arrays gain nothing from tuning: the map's parallelism and the prefetch buffer keep
    tf.data's untuned defaults (as many calls as cores; a buffer that grows when it runs dry).
    """
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.with_options(options)


def steps_per_epoch(split: Split, batch_size: int) -> int:
    return math.ceil(len(split) / batch_size)


def training_dataset(split: Split, batch_size: int, seed: int, epochs: int,
                     initial_epoch: int = 0, shuffle: bool = True) -> tf.data.Dataset:
    """Batches for epochs `initial_epoch`..`epochs - 1`, reshuffled each epoch from the seed.

    Pass `steps_per_epoch(split, batch_size)` to `fit` with it: the dataset is one stream
    across epochs, each epoch ending on a (possibly smaller) last batch.
    """
    size = len(split)
    features, targets = _as_tensors(split.x), tf.convert_to_tensor(split.y)
    seed_tensor = tf.constant(np.int64(seed) % (2**31), dtype=tf.int64)

    def epoch_batches(epoch):
        positions = tf.range(size, dtype=tf.int64)
        if shuffle:
            positions = tf.random.experimental.index_shuffle(
                positions, seed=tf.stack([seed_tensor, epoch]), max_index=size - 1
            )
        return tf.data.Dataset.from_tensor_slices(positions).batch(batch_size)

    batches = tf.data.Dataset.range(initial_epoch, epochs).flat_map(epoch_batches)
    batches = batches.map(lambda positions: (_gather(features, positions),
                                             tf.gather(targets, positions)),
                          num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return _untuned(batches.prefetch(tf.data.AUTOTUNE))


def evaluation_dataset(split: Split, batch_size: int) -> tf.data.Dataset:
    """Batches in order, for validation, evaluation and prediction."""
    return _untuned(tf.data.Dataset.from_tensor_slices((split.x, split.y))
                    .batch(batch_size).prefetch(tf.data.AUTOTUNE))
