"""`train.intra_op_threads`: how many threads TensorFlow may split one op across.

TensorFlow splits a large op (a matmul, a convolution) across every core by default, and runs
independent ops side by side on its inter-op threads. A recurrent layer's step is a chain of
small matmuls: split in two, each half waits for a thread on the other core to wake, and on a
virtual machine that wake-up is slow (a round trip between the two cores of the development
machine takes about 55 µs, 3 µs on one core). Run whole (1 thread an op), the chain stays on
one core while the backward pass's independent matmuls still use the other: 20 training
steps of lstm_text's LSTM-256 took 15 % less time, of char_rnn's GRU-384 16 % less, and the
whole lstm_text run 20 % less with the tf.data fix (docs/benchmarks.md). Dense and
convolutional models want every core for each op, so `auto`, TensorFlow's default, stays
the default.

The setting is TensorFlow's and process-wide, and TensorFlow takes it only before its first
op: a `kerazoo run` process applies it; a notebook or sweep that already ran TensorFlow keeps
the count it started with and says so once. JAX has no such setting.
"""

from __future__ import annotations

import warnings

import keras

_warned: set[int] = set()  # the counts already said not to apply, said once a process


def apply_intra_op_threads(requested: int | str) -> int | None:
    """Ask TensorFlow for `requested` threads an op ('auto': leave its default).

    Returns the count in force afterwards (0: TensorFlow's default, every core), or None on a
    backend without the setting.
    """
    if keras.backend.backend() != "tensorflow":
        return None
    import tensorflow as tf

    current = tf.config.threading.get_intra_op_parallelism_threads()
    if requested == "auto" or requested == current:
        return current
    try:
        tf.config.threading.set_intra_op_parallelism_threads(requested)
    except RuntimeError:  # TensorFlow has already started in this process
        if requested not in _warned:
            _warned.add(requested)
            warnings.warn(f"kerazoo: train.intra_op_threads={requested} not applied: "
                          f"TensorFlow already runs in this process with "
                          f"{current or 'its default'}; it applies in a fresh process "
                          "(`kerazoo run`)", stacklevel=2)
        return current
    return requested
