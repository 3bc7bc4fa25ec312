"""MLflow tracking: the only module that imports mlflow.

It knows nothing of model families or recipes: it logs the params, tags, metrics and files it
is given, and whatever numbers Keras callbacks leave in `logs`. Per-epoch metrics are buffered
and written in batches, because one SQLite round trip per epoch costs more than a small
model's epoch does. Keras is imported only where a model is logged, so reading runs back
(`kerazoo compare`) does not pay for a backend.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.metadata
import os
import sqlite3
import time
import urllib.error
import urllib.request
import warnings
from pathlib import Path
from typing import Any

import mlflow
from mlflow.entities import Metric, Param, RunStatus, RunTag
from mlflow.exceptions import MlflowException

from kerazoo.errors import KerazooError
from kerazoo.locks import file_lock
from kerazoo.writable import check_writable

DEFAULT_TRACKING_URI = "sqlite:///mlruns/mlflow.db"
# Buffered metrics reach the store at least this often: near live in the UI, while a flush
# (20 ms for a minute of mlp_digits' epochs) stays a 0.2 % share of training; a run
# shorter than this writes its epochs once, with its test metrics.
FLUSH_SECONDS = 10.0
PARAMS_PER_BATCH = 100  # MLflow's limit per log_batch call
METRICS_PER_BATCH = 1000
PARAM_VALUE_LIMIT = 6000
TAG_VALUE_LIMIT = 5000


def tracking_uri(uri: str | None = None) -> str:
    """The explicit URI, else $MLFLOW_TRACKING_URI, else the local SQLite store in mlruns/."""
    return uri or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI


def strict() -> bool:
    """In tests (KERAZOO_STRICT_TRACKING=1) logging failures raise instead of warning."""
    return os.environ.get("KERAZOO_STRICT_TRACKING") == "1"


def sqlite_path(uri: str) -> Path | None:
    """The database file of a `sqlite:///` URI (MLflow's or Optuna's), else None."""
    prefix = "sqlite:///"
    return Path(uri[len(prefix):]) if uri.startswith(prefix) else None


def prepare_store(uri: str) -> None:
    """Check the store answers, creating a SQLite database once, before any run starts.

    MLflow's first-time schema creation races when several processes do it at once, so it
    happens under a file lock beside the database. A database created here is switched to
    SQLite's write-ahead log: readers (the UI, `kerazoo compare`) no longer block a training
    run's writes, and each commit costs one write and sync instead of a journal file created,
    synced and deleted (1.5 against 2.4 ms; a run makes about 30). The log needs the database
    on a local disk, where mlruns/ is; put a shared store behind `make server` instead.
    """
    mlflow.set_tracking_uri(uri)
    path = sqlite_path(uri)
    if path is not None:
        if not path.parent.exists():
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise KerazooError(f"cannot create the tracking store folder for {uri!r}: "
                                   f"{error.strerror}") from None
        # The lock, the database's write-ahead log and (by default) the artifacts go here.
        check_writable(path.parent, "the tracking store folder")
        if path.exists() and not os.access(path, os.W_OK):
            raise KerazooError(f"the tracking store {str(path)!r} is read-only; make it "
                               "writable, or set MLFLOW_TRACKING_URI to another store")
        with file_lock(path.with_name(path.name + ".lock")):
            created = not path.exists()
            _ask_store(uri)
            if created:
                _use_write_ahead_log(path)
        return
    if uri.startswith(("http://", "https://")):
        try:
            with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=5) as response:
                response.read()
        except (urllib.error.URLError, OSError, ValueError) as error:
            reason = getattr(error, "reason", error)
            raise KerazooError(f"cannot reach the MLflow tracking server at {uri!r} ({reason}); "
                               "start it (`make server`) or set MLFLOW_TRACKING_URI to a "
                               f"reachable server or to {DEFAULT_TRACKING_URI!r}") from None
    _ask_store(uri)


def _use_write_ahead_log(path: Path) -> None:
    """Switch the SQLite database at `path` to write-ahead logging; the mode is stored in the
    file, so every later connection (MLflow's, the UI's) uses it."""
    with contextlib.closing(sqlite3.connect(path, timeout=30)) as connection:
        connection.execute("PRAGMA journal_mode=WAL")


def _ask_store(uri: str) -> None:
    try:
        mlflow.MlflowClient(uri).search_experiments(max_results=1)
    except Exception as error:  # any store failure here is a configuration problem
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise KerazooError(f"cannot use the MLflow tracking store {uri!r}: {message}") from None


def experiment_id(name: str) -> str:
    """The id of experiment `name`, created if needed (tolerating a concurrent creation)."""
    client = mlflow.MlflowClient()
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        if experiment.lifecycle_stage == "deleted":
            client.restore_experiment(experiment.experiment_id)
        return experiment.experiment_id
    try:
        return client.create_experiment(name)
    except MlflowException:
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            raise
        return experiment.experiment_id


def inputs_by_name(model, inputs: Any) -> Any:
    """Multi-input models take a dict keyed by input name (what a signature can describe)."""
    if isinstance(inputs, tuple):
        return {tensor.name: array for tensor, array in zip(model.inputs, inputs, strict=True)}
    return inputs


@functools.cache
def pip_requirements() -> tuple[str, ...]:
    """Pinned requirements for logged models, given explicitly so MLflow need not infer them."""
    import keras

    names = ["keras", "mlflow"]
    backend = keras.backend.backend()
    if backend == "tensorflow":
        names.append("tensorflow-cpu" if _installed("tensorflow-cpu") else "tensorflow")
    elif backend == "jax":
        names += ["jax", "jaxlib"]
    return tuple(f"{name}=={importlib.metadata.version(name)}" for name in names
                 if _installed(name))


def _installed(name: str) -> bool:
    try:
        importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


class TrackedRun:
    """One MLflow run as a context manager that always ends it with an honest status.

    FINISHED on success, KILLED on KeyboardInterrupt (Ctrl-C, or SIGTERM turned into one),
    FAILED on any other exception, with the error in the `kerazoo.error` tag.
    """

    def __init__(self, experiment: str, run_name: str, tags: dict[str, str] | None = None,
                 uri: str | None = None, resume_run_id: str | None = None,
                 parent_run_id: str | None = None):
        self.uri = tracking_uri(uri)
        self.experiment = experiment
        self.run_name = run_name
        self.tags = dict(tags or {})
        self.resume_run_id = resume_run_id
        self.parent_run_id = parent_run_id
        self.run_id: str | None = None
        self._pending: list[Metric] = []
        self._last_flush = time.monotonic()
        self._client = mlflow.MlflowClient(self.uri)

    def __enter__(self) -> TrackedRun:
        mlflow.set_tracking_uri(self.uri)
        if self.resume_run_id:
            active = mlflow.start_run(run_id=self.resume_run_id)
            run = self._client.get_run(self.resume_run_id)
            for stale in ("kerazoo.interrupted", "kerazoo.error"):  # from the earlier attempt
                if stale in run.data.tags:
                    self._client.delete_tag(self.resume_run_id, stale)
        else:
            active = mlflow.start_run(
                experiment_id=experiment_id(self.experiment), run_name=self.run_name,
                tags=self._clip_tags(self.tags), nested=self.parent_run_id is not None,
                parent_run_id=self.parent_run_id,
            )
        self.run_id = active.info.run_id
        return self

    def __exit__(self, exc_type, exc, traceback) -> bool:
        try:
            self.flush()
        finally:
            if exc_type is None:
                status = RunStatus.to_string(RunStatus.FINISHED)
            elif issubclass(exc_type, KeyboardInterrupt):
                status = RunStatus.to_string(RunStatus.KILLED)
                self._set_tag_quietly("kerazoo.interrupted", "true")
            else:
                status = RunStatus.to_string(RunStatus.FAILED)
                self._set_tag_quietly("kerazoo.error", f"{exc_type.__name__}: {exc}")
            mlflow.end_run(status=status)
        return False

    # -- logging -------------------------------------------------------------------------------

    def _safely(self, action: str, function, *args, **kwargs):
        """Logging must never crash training; in tests (strict mode) it must fail loudly."""
        try:
            return function(*args, **kwargs)
        except Exception as error:
            if strict():
                raise
            warnings.warn(f"kerazoo: could not {action}: {type(error).__name__}: {error}",
                          stacklevel=3)
            return None

    def _clip_tags(self, tags: dict[str, Any]) -> dict[str, str]:
        return {key: str(value)[:TAG_VALUE_LIMIT] for key, value in tags.items()}

    def _set_tag_quietly(self, key: str, value: str) -> None:
        self._safely(f"set tag {key}", self._client.set_tag, self.run_id, key,
                     value[:TAG_VALUE_LIMIT])

    def set_tags(self, tags: dict[str, Any]) -> None:
        self._safely("set tags", mlflow.set_tags, self._clip_tags(tags))

    def log_params(self, params: dict[str, Any], tags: dict[str, Any] | None = None) -> None:
        """Params, and tags along with the first batch of them (one store round trip less)."""
        items = [Param(key, str(value)[:PARAM_VALUE_LIMIT]) for key, value in params.items()]
        batches = [items[start:start + PARAMS_PER_BATCH]
                   for start in range(0, len(items), PARAMS_PER_BATCH)] or [[]]
        tag_items = [RunTag(key, value) for key, value in self._clip_tags(tags or {}).items()]
        for index, batch in enumerate(batches):
            batch_tags = tag_items if index == 0 else []
            if batch or batch_tags:
                self._safely("log params", self._client.log_batch, self.run_id,
                             params=batch, tags=batch_tags)

    def log_metrics(self, metrics: dict[str, float], step: int, flush: bool = False) -> None:
        """Queue metric values at a step; they are written at least every FLUSH_SECONDS."""
        timestamp = int(time.time() * 1000)
        self._pending += [Metric(key, float(value), timestamp, step)
                          for key, value in metrics.items()]
        if flush or time.monotonic() - self._last_flush >= FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        pending, self._pending = self._pending, []
        self._last_flush = time.monotonic()
        for start in range(0, len(pending), METRICS_PER_BATCH):
            self._safely("log metrics", self._client.log_batch, self.run_id,
                         metrics=pending[start:start + METRICS_PER_BATCH])

    def log_text(self, text: str, artifact_file: str) -> None:
        self._safely(f"log {artifact_file}", mlflow.log_text, text, artifact_file)

    def log_artifact(self, path: str | Path, artifact_path: str | None = None) -> None:
        self._safely(f"log {path}", mlflow.log_artifact, str(path), artifact_path)

    def log_artifacts(self, directory: str | Path, artifact_path: str | None = None) -> None:
        self._safely(f"log {directory}", mlflow.log_artifacts, str(directory), artifact_path)

    def log_figure(self, figure, artifact_file: str,
                   save_kwargs: dict[str, Any] | None = None) -> None:
        """`save_kwargs` go to `figure.savefig` (kerazoo.plots.SAVE_OPTIONS)."""
        self._safely(f"log {artifact_file}", mlflow.log_figure, figure, artifact_file,
                     save_kwargs=save_kwargs)

    def log_keras_model(self, model, example_inputs: Any,
                        name: str = "model") -> None:
        """Log the model in MLflow's Keras format with a signature inferred from examples."""
        import keras
        from mlflow.models import infer_signature

        example_inputs = inputs_by_name(model, example_inputs)
        # A direct call, not predict(): predict() on NumPy builds a tf.data pipeline whose
        # TF 2.21 graph makes the runtime print a spurious NodeDef error.
        outputs = keras.tree.map_structure(keras.ops.convert_to_numpy,
                                           model(example_inputs, training=False))
        self._safely("log the model", mlflow.keras.log_model, model, name=name,
                     signature=infer_signature(example_inputs, outputs),
                     pip_requirements=list(pip_requirements()))

    def callback(self, history: dict[str, list[float]] | None = None,
                 flush_at_train_end: bool = True):
        """A Keras callback logging each epoch's `logs` to this run (see epoch_metrics)."""
        from kerazoo.epoch_metrics import MetricsCallback

        return MetricsCallback(self, history, flush_at_train_end)

    def epoch_history(self) -> dict[str, list[float]]:
        """Per-epoch metric values logged so far (step 1, 2, ...), for resuming a run."""
        run = self._client.get_run(self.run_id)
        history = {}
        for key in run.data.metrics:
            points = sorted((m.step, m.value) for m in self._client.get_metric_history(
                self.run_id, key))
            if points and [step for step, _ in points] == list(range(1, len(points) + 1)):
                history[key] = [value for _, value in points]
        return history


# --- runs that have ended (sweeps) --------------------------------------------------------------

def tag_run(run_id: str, tags: dict[str, Any]) -> None:
    """Tag a run after it ended: a sweep learns a trial was pruned only when its fit stops."""
    client = mlflow.MlflowClient()
    for key, value in tags.items():
        client.set_tag(run_id, key, str(value)[:TAG_VALUE_LIMIT])


def run_status(run_id: str) -> str:
    """RUNNING, FINISHED, FAILED or KILLED."""
    return mlflow.MlflowClient().get_run(run_id).info.status


# --- reading runs back ---------------------------------------------------------------------------

def experiment_names() -> list[str]:
    return [experiment.name for experiment in mlflow.MlflowClient().search_experiments()]


def search_runs(experiments: list[str] | None = None, filter_string: str = "",
                max_results: int = 100):
    """Runs as a pandas DataFrame (MLflow's `search_runs` columns), newest first."""
    names = experiments or experiment_names()
    try:
        return mlflow.search_runs(experiment_names=names, filter_string=filter_string,
                                  max_results=max_results, order_by=["attributes.start_time DESC"])
    except MlflowException as error:
        message = str(error).splitlines()[0]
        raise KerazooError(f"--filter {filter_string!r} is not a valid MLflow search filter "
                           f"(e.g. \"metrics.test_accuracy > 0.9 and params.train.epochs = "
                           f"'30'\"): {message}") from None


def find_run(run_id: str):
    """The MLflow run `run_id` (info, tags, params), or a KerazooError naming it."""
    try:
        return mlflow.MlflowClient().get_run(run_id)
    except MlflowException:
        raise KerazooError(f"no run {run_id!r} in the tracking store "
                           f"{mlflow.get_tracking_uri()!r}; `kerazoo compare` lists runs") from None


def metric_history(run_id: str, key: str) -> list[tuple[int, float]]:
    history = mlflow.MlflowClient().get_metric_history(run_id, key)
    return sorted((metric.step, metric.value) for metric in history)
