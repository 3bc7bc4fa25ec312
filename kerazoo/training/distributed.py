"""Data-parallel training on the engines Keras already drives; kerazoo adds no scheduler.

- `mirrored` (TensorFlow backend, one host): `tf.distribute.MirroredStrategy` over the GPUs,
  or over the logical CPU devices when there are none. TensorFlow splits each batch itself.
- `data_parallel` (JAX backend, one or more processes on one or more hosts): Keras 3's
  `keras.distribution.DataParallel` over every device of every process. Each process runs
  `kerazoo run ... --coordinator HOST:PORT --num-processes N --process-id I` (or
  `kerazoo launch` starts N of them on 127.0.0.1), which calls `initialize` first.

`tf.distribute.MultiWorkerMirroredStrategy` is deliberately absent: its `fit` fails with
Keras 3 (keras-team/keras#20585).

With `data_parallel` each process feeds its own rows of every global batch (see
`DataParallel.training_data`), so the weights match a one-process run with the same batch
size; rank 0 alone logs to MLflow while the other ranks repeat every model computation it
does (`LocalRun`), so no rank waits on a collective the others never join.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from kerazoo.errors import KerazooError


class Replicas:
    """One process on one device: every run unless its recipe sets `train.distribute`."""

    name = "none"
    process_id = 0
    num_processes = 1
    num_devices = 1
    one_step_a_call = False  # whether Keras must run one batch per compiled call here

    @property
    def is_chief(self) -> bool:
        """Rank 0 owns the MLflow run; the other ranks log nothing."""
        return self.process_id == 0

    def scope(self) -> contextlib.AbstractContextManager:
        """Build and compile inside it, so variables are placed on every replica."""
        return contextlib.nullcontext()

    def steps_per_epoch(self, size: int, batch_size: int) -> int:
        """The steps `fit` takes in one epoch of `size` training rows."""
        return -(-size // batch_size)

    def training_data(self, dataset, size: int, batch_size: int) -> tuple[Any, int]:
        """This process's share of the training stream, and the steps in one epoch."""
        return dataset, self.steps_per_epoch(size, batch_size)

    def evaluation_data(self, dataset):
        return dataset

    def tags(self) -> dict[str, str]:
        if self.name == "none":
            return {}
        return {"kerazoo.distribute": self.name, "kerazoo.processes": str(self.num_processes),
                "kerazoo.replicas": str(self.num_devices)}


class Mirrored(Replicas):
    """MirroredStrategy on this host's GPUs, else on its logical CPU devices (tests split the
    CPU in two with `tf.config.set_logical_device_configuration`)."""

    name = "mirrored"
    # Keras' multi-step loop (steps_per_execution > 1) branches on the distributed iterator
    # inside the replica context, which fails under MirroredStrategy with "You must feed a
    # value for placeholder tensor" (keras-team/keras#19246): one batch a call here.
    one_step_a_call = True

    def __init__(self):
        import tensorflow as tf

        devices = (tf.config.list_logical_devices("GPU")
                   or tf.config.list_logical_devices("CPU"))
        self.strategy = tf.distribute.MirroredStrategy([device.name for device in devices])
        self.num_devices = self.strategy.num_replicas_in_sync

    def scope(self):
        return self.strategy.scope()


class DataParallel(Replicas):
    """Keras' DataParallel over every device of every process, with kerazoo sharding the data.

    Keras' own dataset sharding needs a batch size it can read off the `tf.data` graph, which
    the reshuffling pipeline (kerazoo/data/pipeline.py) does not expose; cutting each global
    batch into per-process rows is simpler and keeps the batch order of a one-process run.
    """

    name = "data_parallel"

    def __init__(self):
        import jax
        import keras

        devices = keras.distribution.list_devices()
        self.distribution = keras.distribution.DataParallel(devices=devices,
                                                            auto_shard_dataset=False)
        # Set for the whole process, not a scope: fit, evaluate and every forward pass place
        # their batches by it, and a process that joined a JAX job runs nothing else.
        keras.distribution.set_distribution(self.distribution)
        self.process_id = jax.process_index()
        self.num_processes = jax.process_count()
        self.num_devices = len(devices)
        self.local_devices = self.num_devices // self.num_processes

    def training_data(self, dataset, size: int, batch_size: int) -> tuple[Any, int]:
        """Rows [i*k, (i+1)*k) of every global batch for process i, k = batch / processes.

        A last batch that does not split evenly over the devices is dropped: JAX places
        equal shards only. Every other batch is exactly the one-process batch.
        """
        import tensorflow as tf

        if batch_size % self.num_devices:
            raise KerazooError(f"train.batch_size must be a multiple of the {self.num_devices} "
                               f"devices that data_parallel trains on. Received: "
                               f"train.batch_size={batch_size}")
        devices, processes, rank = self.num_devices, self.num_processes, self.process_id

        def even(features, targets):
            return tf.equal(tf.shape(targets)[0] % devices, 0)

        def mine(features, targets):
            rows = tf.shape(targets)[0] // processes
            return tf.nest.map_structure(lambda tensor: tensor[rank * rows:(rank + 1) * rows],
                                         (features, targets))

        return dataset.filter(even).map(mine), self.steps_per_epoch(size, batch_size)

    def steps_per_epoch(self, size: int, batch_size: int) -> int:
        """Whole batches, and the last one only if it splits evenly over the devices."""
        remainder = size % batch_size
        return size // batch_size + (1 if remainder and remainder % self.num_devices == 0
                                     else 0)

    def evaluation_data(self, dataset):
        """Every device evaluates the whole batch: metrics are means, so duplicating every
        row alike leaves them exact, and a last batch of any size fits (validation and test
        splits are small next to training)."""
        import tensorflow as tf

        copies = self.local_devices
        if copies == 1:
            return dataset
        return dataset.map(lambda *batch: tf.nest.map_structure(
            lambda tensor: tf.concat([tensor] * copies, axis=0), batch))


JAX_INSTALL = "pip install 'kerazoo[jax]'"


def require_jax(what: str) -> None:
    """One clear line, before anything starts, when `what` needs JAX and it cannot be
    imported (a worker would otherwise fail with a traceback)."""
    try:
        import jax  # noqa: F401
    except ImportError as error:
        raise KerazooError(f"{what} needs JAX, which cannot be imported here ({error}); "
                           f"install it with: {JAX_INSTALL}") from None


def replicas_for(strategy: str) -> Replicas:
    """The placement `train.distribute` asks for, checked against the Keras backend."""
    import keras

    backend = keras.backend.backend()
    if strategy == "mirrored":
        if backend != "tensorflow":
            raise KerazooError(f"train.distribute: 'mirrored' needs the TensorFlow backend; on "
                               f"{backend} use 'data_parallel'. Received: "
                               f"train.distribute={strategy!r}")
        return Mirrored()
    if strategy == "data_parallel":
        if backend != "jax":
            require_jax("train.distribute: 'data_parallel'")
            raise KerazooError(f"train.distribute: 'data_parallel' needs the JAX backend "
                               f"(KERAS_BACKEND=jax); on {backend} use 'mirrored'. Received: "
                               f"train.distribute={strategy!r}")
        return DataParallel()
    return Replicas()


def parse_address(address: str) -> tuple[str, int]:
    host, separator, port = address.rpartition(":")
    host = host.strip("[]")
    if not separator or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise KerazooError(f"--coordinator must be HOST:PORT with a port in 1..65535, e.g. "
                           f"127.0.0.1:12355. Received: --coordinator={address!r}")
    return host, int(port)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def initialize(coordinator: str, num_processes: int, process_id: int) -> None:
    """Join a multi-process JAX job; call before Keras touches a device.

    A coordinator on a loopback address also binds only there (JAX binds every interface
    by default), so local jobs never listen on the network.
    """
    if num_processes < 1:
        raise KerazooError(f"--num-processes must be a positive integer. "
                           f"Received: --num-processes={num_processes}")
    if not 0 <= process_id < num_processes:
        raise KerazooError(f"--process-id must be in 0..{num_processes - 1}. "
                           f"Received: --process-id={process_id}")
    host, port = parse_address(coordinator)
    if os.environ.get("KERAS_BACKEND", "tensorflow") != "jax":
        raise KerazooError("--coordinator starts a multi-process JAX job: set KERAS_BACKEND=jax "
                           "(or use `kerazoo launch`). Received: KERAS_BACKEND="
                           f"{os.environ.get('KERAS_BACKEND', 'tensorflow')!r}")
    if is_loopback(host):
        os.environ.setdefault("JAX_COORDINATOR_BIND_ADDRESS", f"{host}:{port}")
    import keras

    keras.distribution.initialize(coordinator, num_processes, process_id)


class LocalRun:
    """What ranks other than 0 hold instead of an MLflow run: the same interface, nothing
    logged, but the model calls rank 0 makes while logging (a forward pass for the signature,
    a save) happen here too, saving to a folder of this rank's own that is removed after."""

    run_id = None

    def __init__(self, process_id: int):
        self.process_id = process_id
        self.directory: Path | None = None

    def __enter__(self) -> LocalRun:
        self.directory = Path(tempfile.mkdtemp(prefix=f"kerazoo-rank{self.process_id}-"))
        return self

    def __exit__(self, exc_type, exc, traceback) -> bool:
        shutil.rmtree(self.directory, ignore_errors=True)
        return False

    def _nothing(self, *args, **kwargs) -> None:
        return None

    set_tags = log_params = log_metrics = flush = log_text = log_artifact = _nothing
    log_artifacts = log_figure = _nothing

    def log_keras_model(self, model, example_inputs, name: str = "model",
                        class_names: list[str] | None = None) -> None:
        from kerazoo.tracking.runs import inputs_by_name

        model(inputs_by_name(model, example_inputs), training=False)
        model.save(self.directory / f"{name}.keras")

    def callback(self, history=None, flush_at_train_end: bool = True):
        """Collects the history (for the result and the plot) without logging it."""
        from kerazoo.tracking.epoch_metrics import MetricsCallback

        return MetricsCallback(self, history, flush_at_train_end)
