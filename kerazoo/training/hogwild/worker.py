"""One HOGWILD! worker: SGD on its share of the training data, straight into shared weights.

The worker runs in a spawned process (TensorFlow hangs after fork). It rebuilds the
recipe's Keras model from its JSON config and uses it for the forward and backward pass
only; the weights it reads and writes are the shared block's. Before each step it copies
into the model's variables just what the step reads: for an Embedding fed by a model input,
the rows of the batch's ids (a scatter of a few rows, not the whole table, or the sparse
speedup would be lost in copying); for every other variable, the whole array. The gradient
of an Embedding comes back as TensorFlow's IndexedSlices, summed per distinct id, and only
those rows of the shared table change.

TensorFlow, not JAX: its gradients of a gather are sparse (IndexedSlices) without any
rewriting of the model, and it is kerazoo's default backend, so any recipe's model works.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

# How often (in steps) a worker checks that its parent still lives: a parent killed outright
# (SIGKILL) cannot stop its workers, so they stop themselves.
PARENT_CHECK_STEPS = 64


@dataclass
class WorkerSpec:
    """Everything a worker needs, picklable: no Keras objects cross the process boundary."""

    index: int
    workers: int
    model_json: str
    loss: Any
    # Per trainable variable: the index of the model input whose ids select its rows (an
    # Embedding fed by that input), or None for a dense variable.
    sparse_inputs: list[int | None]
    block_name: str
    shapes: list[tuple[int, ...]]
    x: Any  # this worker's share of the training inputs (an array or a tuple of arrays)
    y: np.ndarray
    epochs: int
    batch_size: int
    learning_rate: float
    seed: int
    threads: int
    parent_pid: int


def limit_threads(threads: int) -> None:
    """Give the math libraries this worker's share of the cores; before TensorFlow loads."""
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                     "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
        os.environ[variable] = str(threads)
    os.environ["KERAS_BACKEND"] = "tensorflow"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _rows(x: Any, index: np.ndarray) -> Any:
    return tuple(part[index] for part in x) if isinstance(x, tuple) else x[index]


def _inputs(x: Any) -> tuple[np.ndarray, ...]:
    return x if isinstance(x, tuple) else (x,)


def _fresh(views: list[np.ndarray], sparse_inputs: list[int | None],
           inputs: tuple[np.ndarray, ...], batch: np.ndarray) -> list:
    """What a step reads of the shared weights: the batch's rows of a sparse variable (its
    distinct ids and their rows), a dense variable whole."""
    fresh = []
    for view, source in zip(views, sparse_inputs, strict=True):
        if source is None:
            fresh.append(view)
        else:
            rows = np.unique(inputs[source][batch])
            fresh.append((rows, view[rows]))
    return fresh


def make_step(model, sparse_inputs: list[int | None]):
    """A compiled step: refresh the variables from `fresh`, then the loss and its gradients,
    sparse ones as (distinct rows, summed gradient rows)."""
    import tensorflow as tf

    variables = model.trainable_variables

    @tf.function(reduce_retracing=True)
    def step(x, y, fresh):
        for variable, source, value in zip(variables, sparse_inputs, fresh, strict=True):
            if source is None:
                variable.assign(value)
            else:
                rows, values = value
                variable.value.scatter_update(tf.IndexedSlices(values, rows))
        with tf.GradientTape() as tape:
            y_pred = model(x, training=True)
            loss = model.compute_loss(x=x, y=y, y_pred=y_pred, training=True)
        gradients = tape.gradient(loss, variables)
        results = []
        for variable, source, gradient, value in zip(variables, sparse_inputs, gradients,
                                                     fresh, strict=True):
            if source is None:
                results.append(tf.zeros_like(variable.value) if gradient is None
                               else tf.convert_to_tensor(gradient))
            elif isinstance(gradient, tf.IndexedSlices):
                rows, position = tf.unique(gradient.indices)
                results.append((rows, tf.math.unsorted_segment_sum(
                    gradient.values, position, tf.size(rows))))
            else:  # no gradient, or a dense one: keep only the rows the batch read
                rows = value[0]
                results.append((rows, tf.zeros_like(value[1]) if gradient is None
                                else tf.gather(gradient, rows)))
        return loss, results

    return step


def _wait_for_snapshot(resume, parent_pid: int) -> bool:
    """Wait until the parent has copied the epoch's weights; False if the parent is gone."""
    while not resume.acquire(timeout=1.0):
        if os.getppid() != parent_pid:
            return False
    return True


def work(spec: WorkerSpec, messages, start, resume, lock) -> None:
    """The worker process's entry point; `messages` carries its reports to the parent:
    ("ready", i), ("epoch", i, epoch, steps, mean loss, seconds), ("done", i) or
    ("error", i, one line). After each epoch but the last it waits for one `resume` token,
    which the parent gives each worker once it has copied that epoch's weights."""
    # Ctrl-C in a terminal reaches the whole process group; the parent decides and stops the
    # workers itself (SIGTERM), after which nothing of theirs needs cleaning up.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    limit_threads(spec.threads)
    try:
        _work(spec, messages, start, resume, lock)
    except Exception as error:  # reported as one line; the parent fails the run with it
        text = " ".join(str(error).split())[:300]
        messages.put(("error", spec.index, f"{type(error).__name__}: {text}"))
        raise SystemExit(1) from None


def _work(spec: WorkerSpec, messages, start, resume, lock) -> None:
    from kerazoo.quiet_backend import import_keras_quietly

    import_keras_quietly()  # the backend's start-up chatter, once per worker, is noise
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(spec.threads)
    tf.config.threading.set_inter_op_parallelism_threads(spec.threads)
    import keras

    import kerazoo.models  # noqa: F401  (registers kerazoo's layers for the model's config)
    from kerazoo.training.hogwild.shared_weights import SharedWeights
    from kerazoo.training.hogwild.updates import apply_dense, apply_sparse

    keras.utils.set_random_seed(spec.seed + 1000 * (spec.index + 1))  # dropout differs per worker
    model = keras.models.model_from_json(spec.model_json)
    model.compile(loss=spec.loss)
    step = make_step(model, spec.sparse_inputs)
    weights = SharedWeights.attach(spec.block_name, spec.shapes)
    guard = lock if lock is not None else contextlib.nullcontext()
    inputs = _inputs(spec.x)
    generator = np.random.default_rng([spec.seed, spec.index])
    try:
        # Trace the step before the clock starts, at two batch sizes so the trace that
        # generalizes shapes (reduce_retracing) is made too; nothing is written back.
        for size in (spec.batch_size, spec.batch_size - 1):
            batch = np.arange(min(max(size, 1), len(spec.y)))
            step(_rows(spec.x, batch), spec.y[batch], _fresh(weights.views, spec.sparse_inputs,
                                                              inputs, batch))
        messages.put(("ready", spec.index))
        start.wait()
        total_steps = 0
        for epoch in range(spec.epochs):
            began, losses = time.perf_counter(), []
            order = generator.permutation(len(spec.y))
            for first in range(0, len(order), spec.batch_size):
                batch = order[first:first + spec.batch_size]
                with guard:
                    fresh = _fresh(weights.views, spec.sparse_inputs, inputs, batch)
                    loss, gradients = step(_rows(spec.x, batch), spec.y[batch], fresh)
                    for view, source, gradient in zip(weights.views, spec.sparse_inputs,
                                                      gradients, strict=True):
                        if source is None:
                            apply_dense(view, gradient.numpy(), spec.learning_rate)
                        else:
                            apply_sparse(view, gradient[0].numpy(), gradient[1].numpy(),
                                         spec.learning_rate)
                losses.append(float(loss))
                total_steps += 1
                if total_steps % PARENT_CHECK_STEPS == 0 and os.getppid() != spec.parent_pid:
                    return  # orphaned: the parent is gone
            messages.put(("epoch", spec.index, epoch, len(losses), float(np.mean(losses)),
                          time.perf_counter() - began))
            if epoch + 1 < spec.epochs and not _wait_for_snapshot(resume, spec.parent_pid):
                return
        messages.put(("done", spec.index))
    finally:
        fresh = None  # holds views of the block, which cannot close while they live
        with contextlib.suppress(BufferError):  # a view TensorFlow still holds: exiting frees it
            weights.close()
