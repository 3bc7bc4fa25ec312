"""The parent of a HOGWILD! job: shared weights, N spawned workers, per-epoch validation.

The parent puts the model's trainable weights in a shared block, starts the workers and
releases them together once all are ready (so start-up is not timed). At the end of each
epoch the workers wait until every one has reported it and the parent has validated a copy
of the block with its own model, so validation never competes with them for the cores.
`hogwild_seconds` adds up, epoch by epoch, the slowest worker's training time: the waits are
left out, for one worker as for many.

Whatever ends the job (the end, Ctrl-C or SIGTERM turned into KeyboardInterrupt, a worker
that dies), every worker is stopped and joined and the block unlinked before it returns.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
from collections.abc import Callable
from dataclasses import dataclass, field

import keras
import numpy as np

from kerazoo.config.recipe import Recipe
from kerazoo.data import DataSplits, pipeline
from kerazoo.data.splits import take
from kerazoo.errors import WorkerFailed
from kerazoo.training.hogwild.shared_weights import SharedWeights
from kerazoo.training.hogwild.worker import WorkerSpec, work

# How long the parent blocks on its message queue before checking that workers live.
POLL_SECONDS = 0.5


@dataclass
class Progress:
    """What the workers reported for one epoch."""

    steps: dict[int, int] = field(default_factory=dict)
    losses: dict[int, float] = field(default_factory=dict)
    seconds: dict[int, float] = field(default_factory=dict)


def sparse_inputs(model: keras.Model) -> list[int | None]:
    """Per trainable variable: the model input whose ids pick its rows, or None (dense).

    An Embedding whose input is one of the model's inputs reads only the rows of the ids
    in the batch, so only those need refreshing and updating; any other variable is dense.
    """
    sources: dict[int, int] = {}
    for layer in model.layers:
        if isinstance(layer, keras.layers.Embedding):
            for position, tensor in enumerate(model.inputs):
                if layer.input is tensor:
                    sources[id(layer.embeddings)] = position
    return [sources.get(id(variable)) for variable in model.trainable_variables]


def worker_shares(size: int, workers: int, seed: int) -> list[np.ndarray]:
    """Disjoint shuffled shares of the training rows, one per worker, sizes within one."""
    order = np.random.default_rng(seed).permutation(size)
    return [order[index::workers] for index in range(workers)]


def threads_per_worker(workers: int) -> int:
    return max(1, (os.cpu_count() or 1) // workers)


def train(model: keras.Model, recipe: Recipe, data: DataSplits,
          on_epoch_end: Callable[[int, dict[str, float]], None],
          announce: Callable[[str], None] = print) -> None:
    """Run the job; `on_epoch_end(epoch, logs)` gets loss, val_* metrics and throughput.
    On return `model` holds the final shared weights."""
    train_settings = recipe.train
    workers = train_settings.workers
    weights = SharedWeights.create(
        [keras.ops.convert_to_numpy(variable) for variable in model.trainable_variables])
    context = multiprocessing.get_context("spawn")
    messages = context.Queue()
    start = context.Event()
    # One token semaphore per worker: with a shared one, a fast worker could take a slow
    # one's token for the same epoch and run ahead while the slow one waits for ever.
    resumes = [context.Semaphore(0) for _ in range(workers)]
    lock = context.Lock() if train_settings.lock else None
    processes: list = []
    try:
        sources = sparse_inputs(model)
        for index, rows in enumerate(worker_shares(len(data.train), workers, recipe.seed)):
            spec = WorkerSpec(
                index=index, workers=workers, model_json=model.to_json(), loss=model.loss,
                sparse_inputs=sources, block_name=weights.name, shapes=weights.shapes,
                x=take(data.train.x, rows), y=data.train.y[rows],
                epochs=train_settings.epochs, batch_size=train_settings.batch_size,
                learning_rate=float(train_settings.learning_rate), seed=recipe.seed,
                threads=threads_per_worker(workers), parent_pid=os.getpid())
            process = context.Process(target=work,
                                      args=(spec, messages, start, resumes[index], lock),
                                      name=f"kerazoo-hogwild-{index}", daemon=True)
            process.start()
            processes.append(process)
        announce(f"hogwild: {workers} worker(s) started, pids "
                 f"{' '.join(str(process.pid) for process in processes)}")
        _wait(processes, messages, "ready")
        start.set()
        elapsed = 0.0
        epochs: dict[int, Progress] = {}
        done: set[int] = set()
        next_epoch = 0
        while len(done) < workers:
            message = _next_message(processes, messages)
            if message[0] == "done":
                done.add(message[1])
                continue
            _, index, epoch, steps, loss, seconds = message
            progress = epochs.setdefault(epoch, Progress())
            progress.steps[index], progress.losses[index] = steps, loss
            progress.seconds[index] = seconds
            while len(epochs.get(next_epoch, Progress()).steps) == workers:
                progress = epochs.pop(next_epoch)
                elapsed += max(progress.seconds.values())
                logs = _epoch_logs(model, weights.snapshot(), progress, data,
                                   train_settings.batch_size, elapsed)
                for resume in resumes:  # after validating: it never competes for the cores
                    resume.release()
                on_epoch_end(next_epoch, logs)
                next_epoch += 1
        for variable, value in zip(model.trainable_variables, weights.snapshot(), strict=True):
            variable.assign(value)
    finally:
        _stop(processes)
        weights.close()
        weights.unlink()


def _epoch_logs(model: keras.Model, snapshot: list[np.ndarray], progress: Progress,
                data: DataSplits, batch_size: int, elapsed: float) -> dict[str, float]:
    for variable, value in zip(model.trainable_variables, snapshot, strict=True):
        variable.assign(value)
    steps = sum(progress.steps.values())
    logs = {"loss": sum(progress.losses[index] * progress.steps[index]
                        for index in progress.steps) / steps}
    validation = model.evaluate(pipeline.evaluation_dataset(data.validation, batch_size),
                                return_dict=True, verbose=0)
    logs.update({f"val_{name}": float(value) for name, value in validation.items()})
    rates = {index: progress.steps[index] / progress.seconds[index] for index in progress.steps}
    logs["updates_per_second"] = sum(rates.values())
    logs.update({f"updates_per_second_worker_{index}": rate
                 for index, rate in sorted(rates.items())})
    logs["hogwild_seconds"] = elapsed
    return logs


def _failure(processes, index: int | None = None, reason: str = "") -> WorkerFailed:
    if index is None:
        index = next(i for i, process in enumerate(processes)
                     if process.exitcode not in (None, 0))
    code = processes[index].exitcode
    what = reason or f"exit code {code}" + (" (killed by a signal)" if code and code < 0 else "")
    return WorkerFailed(f"hogwild worker {index} died: {what}")


def _next_message(processes, messages) -> tuple:
    """The next report; a dead worker raises WorkerFailed with its one-line reason."""
    while True:
        try:
            message = messages.get(timeout=POLL_SECONDS)
        except queue.Empty:
            if any(process.exitcode not in (None, 0) for process in processes):
                raise _failure(processes) from None
            if all(process.exitcode is not None for process in processes):
                raise WorkerFailed("hogwild workers all exited before reporting the end of "
                                   "training") from None
            continue
        if message[0] == "error":
            raise _failure(processes, message[1], message[2])
        return message


def _wait(processes, messages, kind: str) -> None:
    pending = set(range(len(processes)))
    while pending:
        message = _next_message(processes, messages)
        if message[0] == kind:
            pending.discard(message[1])


def _stop(processes) -> None:
    """Stop and reap every worker: no orphans, no zombies."""
    for process in processes:
        if process.exitcode is None:
            process.terminate()
    for process in processes:
        process.join()
