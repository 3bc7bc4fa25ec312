"""MLflow tracking: the only module that imports mlflow.

It knows nothing of model families or recipes: it logs the params, tags, metrics and files it
is given, and whatever numbers Keras callbacks leave in `logs`. Per-epoch metrics go through
MLflow's asynchronous logging (`log_batch(..., synchronous=False)`): a background thread
writes them in batches, because one store round trip per epoch costs more than a small
model's epoch does. Keras is imported only where a model is logged, so reading runs back
(`kerazoo compare`) does not pay for a backend.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import functools
import importlib.metadata
import logging
import os
import sqlite3
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
from pathlib import Path
from typing import Any

import mlflow
from mlflow.data.dataset import Dataset
from mlflow.data.dataset_source import DatasetSource
from mlflow.entities import Metric, Param, RunStatus, RunTag
from mlflow.exceptions import MlflowException

from kerazoo.errors import KerazooError, TrackingLost
from kerazoo.tracking.disk_full import caused_by_full_disk
from kerazoo.tracking.locks import file_lock
from kerazoo.tracking.store_health import check_store_intact
from kerazoo.tracking.uris import masked
from kerazoo.tracking.writable import check_writable

DEFAULT_TRACKING_URI = "sqlite:///mlruns/mlflow.db"
# MLflow's settings for kerazoo's processes, unless the environment gives its own
# (docs/reliability.md). Asynchronous metrics are gathered for a second and written as one
# batch; a second, not MLflow's default of none, because with none its queue thread sleeps
# in a 1-second queue read that ending a run must wait out, while this wait ends at once.
# A tracking server that stops answering is given up on after 2 retries, 1 then 2 s apart
# (plus up to 0.5 s of jitter), each request waiting at most 15 s: a few seconds when the
# server is gone (connection refused), under a minute when it hangs; MLflow's defaults (7
# retries, 120 s each, backoff factor 2) would block a run for minutes.
MLFLOW_DEFAULTS = {
    "MLFLOW_ASYNC_LOGGING_BUFFERING_SECONDS": "1",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0.5",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "15",
}
for _name, _value in MLFLOW_DEFAULTS.items():
    os.environ.setdefault(_name, _value)
PARAMS_PER_BATCH = 100  # MLflow's limit per log_batch call
METRICS_PER_BATCH = 1000
PARAM_VALUE_LIMIT = 6000
TAG_VALUE_LIMIT = 5000
# MLflow 3 files an experiment under model training or GenAI by this tag; its UI opens in
# the GenAI view unless the address asks for the other (the `workflowType` query parameter).
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"
UI_ADDRESS = "http://127.0.0.1:5000"  # where `make ui` serves
UI_VIEW = "workflowType=machine_learning"
SMOKE_SUFFIX = "-smoke"

# MLflow announces a new SQLite store's schema creation and migration on INFO, before any
# line of kerazoo's: a user's first mistake would print three lines instead of one.
for _chatty in ("mlflow.store.db.utils", "alembic"):
    logging.getLogger(_chatty).setLevel(logging.WARNING)
# A failed store write is logged on ERROR, and then raised with the same text: the error alone
# is reported (a full disk: kerazoo/tracking/disk_full.py's one line, not five more).
logging.getLogger("mlflow.store.db.utils").setLevel(logging.CRITICAL)
# The async queue logs every failed batch on ERROR; TrackedRun.flush reports it, in one line.
logging.getLogger("mlflow.utils.async_logging.async_logging_queue").setLevel(logging.CRITICAL)


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
    if masked(uri) != uri:  # MLflow prints "View run ... at: URL" with the URI's password
        os.environ["MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"] = "true"
    path = sqlite_path(uri)
    if path is not None:
        if not path.parent.exists():
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise KerazooError(f"cannot create the tracking store folder for "
                                   f"{masked(uri)!r}: "
                                   f"{error.strerror}") from None
        # The lock, the database's write-ahead log and (by default) the artifacts go here.
        check_writable(path.parent, "the tracking store folder")
        if path.exists() and not os.access(path, os.W_OK):
            raise KerazooError(f"the tracking store {str(path)!r} is read-only; make it "
                               "writable, or set MLFLOW_TRACKING_URI to another store")
        if path.exists():  # damaged middle pages pass MLflow's first query (store_health)
            check_store_intact(path)
        # MLflow cannot create a store from several processes at once, nor ask for WAL:
        # tests/test_concurrency.py::test_four_concurrent_runs_on_one_new_store.
        with file_lock(path.with_name(path.name + ".lock")):
            created = not path.exists()
            _ask_store(uri)
            if created:
                _use_write_ahead_log(path)
        return
    if uri.startswith(("http://", "https://")):
        try:
            with urllib.request.urlopen(_health_request(uri), timeout=5) as response:
                response.read()
        except (urllib.error.URLError, OSError, ValueError) as error:
            reason = getattr(error, "reason", error)
            raise KerazooError(f"cannot reach the MLflow tracking server at {masked(uri)!r} "
                               f"({masked(reason)}); "
                               "start it (`make server`) or set MLFLOW_TRACKING_URI to a "
                               f"reachable server or to {DEFAULT_TRACKING_URI!r}") from None
    _ask_store(uri)


def store_missing(uri: str) -> bool:
    """Whether `uri` names a SQLite store not created yet: a command that only reads runs
    says there are none instead of creating an empty store (or anything else) there."""
    path = sqlite_path(uri)
    return path is not None and not path.exists()


def _health_request(uri: str) -> urllib.request.Request:
    """A GET of the server's /health, its user and password (if the URI holds them) sent as
    basic authentication, as MLflow's client sends them: urllib reads neither from a URL."""
    parts = urllib.parse.urlsplit(uri.rstrip("/") + "/health")
    headers = {}
    if parts.username is not None or parts.password is not None:
        pair = f"{urllib.parse.unquote(parts.username or '')}:" \
               f"{urllib.parse.unquote(parts.password or '')}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        parts = parts._replace(netloc=parts.netloc.rpartition("@")[2])
    return urllib.request.Request(urllib.parse.urlunsplit(parts), headers=headers)


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
        raise KerazooError(f"cannot use the MLflow tracking store {masked(uri)!r}: "
                           f"{masked(message)}") from None


def experiment_id(name: str) -> str:
    """The id of experiment `name`, created if needed (tolerating a concurrent creation).

    A new experiment is tagged as model development, so MLflow 3's UI files it under model
    training instead of asking; so is an existing one that has no kind yet (one an earlier
    kerazoo made). A deleted one is an error, never restored behind the user's back.
    """
    client = mlflow.MlflowClient()
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        check_not_deleted(experiment)
        if EXPERIMENT_KIND_TAG not in experiment.tags:
            client.set_experiment_tag(experiment.experiment_id, EXPERIMENT_KIND_TAG,
                                      EXPERIMENT_KIND)
        return experiment.experiment_id
    try:
        return client.create_experiment(name, tags={EXPERIMENT_KIND_TAG: EXPERIMENT_KIND})
    except MlflowException:
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            raise
        check_not_deleted(experiment)
        return experiment.experiment_id


def check_experiment(name: str) -> None:
    """Fail before any work when experiment `name` exists but was deleted."""
    experiment = mlflow.MlflowClient().get_experiment_by_name(name)
    if experiment is not None:
        check_not_deleted(experiment)


def check_not_deleted(experiment) -> None:
    if experiment.lifecycle_stage == "deleted":
        raise KerazooError(
            f"experiment {experiment.name!r} (id {experiment.experiment_id}) was deleted; "
            f"restore it with `mlflow experiments restore --experiment-id "
            f"{experiment.experiment_id}` or choose another with --set experiment=NAME")


def experiment_for(name: str, smoke: bool) -> str:
    """Smoke runs go to an experiment of their own, so they never skew a real comparison."""
    return f"{name}{SMOKE_SUFFIX}" if smoke else name


def ui_address(uri: str | None = None) -> str:
    """Where the UI showing store `uri` is: the tracking server itself, else `make ui`."""
    uri = tracking_uri(uri)
    # Masked: the address is printed, and a server's URI may hold a password.
    return masked(uri.rstrip("/")) if uri.startswith(("http://", "https://")) else UI_ADDRESS


def run_url(experiment: str, run_id: str, uri: str | None = None) -> str:
    """The run's page in the UI, in its model-training view. MLflow 3's UI routes in the
    URL's fragment, so the query parameter goes after the route, inside the fragment."""
    return f"{ui_address(uri)}/#/experiments/{experiment}/runs/{run_id}?{UI_VIEW}"


def inputs_by_name(model, inputs: Any) -> Any:
    """Multi-input models take a dict keyed by input name (what a signature can describe)."""
    if isinstance(inputs, tuple):
        return {tensor.name: array for tensor, array in zip(model.inputs, inputs, strict=True)}
    return inputs


@functools.cache
def pip_requirements(modules: tuple[str, ...] = ()) -> tuple[str, ...]:
    """Pinned requirements for logged models, given explicitly so MLflow need not infer them:
    Keras, its backend, MLflow, and the distributions of `modules` (those a model's custom
    objects come from, e.g. kerazoo for a model with LocalResponseNormalization)."""
    import keras

    names = ["keras", "mlflow"]
    backend = keras.backend.backend()
    if backend == "tensorflow":
        names.append("tensorflow-cpu" if _installed("tensorflow-cpu") else "tensorflow")
    elif backend == "jax":
        names += ["jax", "jaxlib"]
    distributions = importlib.metadata.packages_distributions()
    for module in modules:
        names += [name for name in distributions.get(module.split(".")[0], [])
                  if name not in names]
    return tuple(f"{name}=={importlib.metadata.version(name)}" for name in names
                 if _installed(name))


def _installed(name: str) -> bool:
    try:
        importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


class KerasWithKerazooPyfunc:
    """A flavor for `mlflow.models.Model.log`: MLflow's Keras flavor, whose python_function
    flavor is kerazoo's loader (`kerazoo.serving.kerazoo_pyfunc`) instead of MLflow's.

    The loader is copied into the model's code/ folder, which MLflow puts on `sys.path`
    before importing it (the flavor's `code`), so it loads without kerazoo installed.
    `pyfunc.add_to_model` is MLflow's way for a flavor to say how it loads as a pyfunc.
    """

    CODE_FOLDER = "code"

    @classmethod
    def save_model(cls, path: str, mlflow_model, model, **kwargs) -> None:
        import shutil

        from mlflow import pyfunc

        from kerazoo.serving import kerazoo_pyfunc

        mlflow.keras.save_model(model, path, mlflow_model=mlflow_model, **kwargs)
        code = Path(path) / cls.CODE_FOLDER
        code.mkdir()
        shutil.copy(kerazoo_pyfunc.__file__, code / "kerazoo_pyfunc.py")
        environment = mlflow_model.flavors[pyfunc.FLAVOR_NAME][pyfunc.ENV]
        pyfunc.add_to_model(mlflow_model, loader_module="kerazoo_pyfunc",
                            code=cls.CODE_FOLDER, conda_env=environment["conda"],
                            python_env=environment["virtualenv"])
        mlflow_model.save(str(Path(path) / "MLmodel"))


class DescribedSource(DatasetSource):
    """Where data came from when that is not a file: a generator or a library's bundled set,
    in the loader's own words (MLflow's own sources are paths and URLs)."""

    def __init__(self, description: str):
        self.description = description

    @staticmethod
    def _get_source_type() -> str:
        return "kerazoo"

    def load(self, **kwargs):
        raise NotImplementedError("kerazoo's loaders recreate this data; see the run's recipe")

    @staticmethod
    def _can_resolve(raw_source: Any) -> bool:
        return False  # only ever made here, never guessed from a string

    @classmethod
    def _resolve(cls, raw_source: Any) -> DescribedSource:
        return cls(str(raw_source))

    def to_dict(self) -> dict[str, Any]:
        return {"description": self.description}

    @classmethod
    def from_dict(cls, source_dict: dict[Any, Any]) -> DescribedSource:
        return cls(source_dict["description"])


def numpy_dataset(name: str, source: str, digest: str, features: Any,
                  targets: Any) -> Dataset:
    """A dataset input over arrays already in memory: MLflow keeps references and reads only
    shapes and dtypes, and `digest` is the loader's content hash, so nothing is copied or
    hashed again. A tuple of feature arrays (a multi-input model's) becomes input_0, ..."""
    from mlflow.data.sources import LocalArtifactDatasetSource

    if isinstance(features, tuple):
        features = {f"input_{index}": array for index, array in enumerate(features)}
    origin = (LocalArtifactDatasetSource(source) if Path(source).exists()
              else DescribedSource(source))
    return mlflow.data.from_numpy(features, source=origin, targets=targets, name=name,
                                  digest=digest)


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
        self.experiment_id: str | None = None
        self._queued: list[Any] = []  # MLflow's RunOperations of the metrics not confirmed
        self.lost: str | None = None  # why the store stopped taking this run's data
        self.disk_full = False  # whether that was for want of space
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
        self.experiment_id = active.info.experiment_id
        return self

    def __exit__(self, exc_type, exc, traceback) -> bool:
        if self.lost is None:
            try:
                self.flush()
            except TrackingLost:
                if exc_type is None:
                    raise
        if self.lost is not None and not self.disk_full:
            # Ending the run would wait out the retry budget once more, for a store known to
            # be gone: it stays RUNNING there, and `--resume` continues it.
            return False
        if exc_type is None:
            status = RunStatus.to_string(RunStatus.FINISHED)
        elif issubclass(exc_type, KeyboardInterrupt):
            status = RunStatus.to_string(RunStatus.KILLED)
            self._set_tag_quietly("kerazoo.interrupted", "true")
        else:
            status = RunStatus.to_string(RunStatus.FAILED)
            self._set_tag_quietly("kerazoo.error", masked(f"{exc_type.__name__}: {exc}"))
        mlflow.end_run(status=status)
        return False

    # -- logging -------------------------------------------------------------------------------

    def _safely(self, action: str, function, *args, **kwargs):
        """Logging must never crash training; in tests (strict mode) it must fail loudly."""
        try:
            return function(*args, **kwargs)
        except Exception as error:
            if strict() or caused_by_full_disk(error):  # every later write would fail too
                raise
            warnings.warn(f"kerazoo: could not {action}: {type(error).__name__}: "
                          f"{masked(error)}",
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

    def log_metrics(self, metrics: dict[str, float], step: int, flush: bool = False,
                    model_id: str | None = None, dataset: Dataset | None = None) -> None:
        """Queue metric values at a step for MLflow's background writer (within a second);
        `flush` (or a later `flush()`) waits until they are in the store.

        With `model_id` they are also the logged model's metrics (its page in the UI), and
        with `dataset` they say which logged input they were measured on."""
        timestamp = int(time.time() * 1000)
        name, digest = (dataset.name, dataset.digest) if dataset is not None else (None, None)
        items = [Metric(key, float(value), timestamp, step, model_id=model_id,
                        dataset_name=name, dataset_digest=digest)
                 for key, value in metrics.items()]
        for start in range(0, len(items), METRICS_PER_BATCH):
            self._queued.append(self._client.log_batch(
                self.run_id, metrics=items[start:start + METRICS_PER_BATCH],
                synchronous=False))
        if flush:
            self.flush()

    def flush(self) -> None:
        """Wait until every metric queued so far is in the store. A store that failed to
        take some (MLflow's HTTP retries spent, a full disk) raises TrackingLost, in strict
        mode (tests) and out of it: the caller must not save a training state ahead of the
        metrics logged (kerazoo.training.checkpoint), so it cannot go on as if they were.
        Interrupted (Ctrl-C) while waiting, the store is treated as lost as well: nothing
        waits on it again, so a stuck server cannot hold the process."""
        if self.lost is not None:
            raise TrackingLost(self.lost)
        queued, self._queued = self._queued, []
        if not queued:
            return
        try:
            # Hands over what the queue gathers now, instead of at its next tick.
            mlflow.flush_async_logging()
            for operations in queued:
                operations.wait()
        except KeyboardInterrupt:
            self.lost = "interrupted while writing metrics"
            raise
        except Exception as error:  # every store failure means the same: metrics not kept
            message = str(error).strip().splitlines()[-1] if str(error).strip() else ""
            self.lost = (f"the tracking store {masked(self.uri)!r} stopped taking run "
                         f"{self.run_id}'s metrics "
                         f"({masked(message)[:300] or type(error).__name__}); its training "
                         f"state up to the last epoch logged is kept: `--resume {self.run_id}` "
                         "once the store is back")
            # A full disk is not a lost store: the run still ends FAILED (in the room the
            # training state's reserve gives back), and the error chain keeps the cause
            # for the one line that says so (kerazoo/tracking/disk_full.py).
            self.disk_full = caused_by_full_disk(error)
            raise TrackingLost(self.lost) from (error if self.disk_full else None)

    def log_datasets(self, datasets: dict[str, Dataset]) -> None:
        """Log each dataset as an input of the run under its context (training, validation,
        testing): the run's and the logged model's Datasets columns in the UI."""
        self._safely("log the datasets", mlflow.log_inputs, datasets=list(datasets.values()),
                     contexts=list(datasets), tags_list=[None] * len(datasets))

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

    def log_keras_model(self, model, example_inputs: Any, name: str = "model",
                        class_names: list[str] | None = None):
        """Log the model so that it loads and serves where kerazoo is not installed; returns
        MLflow's ModelInfo (None where logging failed outside tests).

        What is logged is `kerazoo.models.portable`'s copy (Keras' own layers in place of
        kerazoo's), in MLflow's Keras format, with kerazoo's python_function flavor
        (`kerazoo.serving.kerazoo_pyfunc`, travelling in the model's code/ folder): given
        `class_names`, it answers each row with a label and the classes' probabilities. The
        signature is inferred from the examples and those answers.
        """
        return self._safely("log the model", self._log_keras_model, model, example_inputs,
                            name, class_names)

    def _log_keras_model(self, model, example_inputs, name, class_names):
        from mlflow.models import Model, infer_signature

        from kerazoo.models.output_spec import zeros_like_outputs
        from kerazoo.models.portable import modules_needed, portable_copy
        from kerazoo.serving import kerazoo_pyfunc

        example_inputs = inputs_by_name(model, example_inputs)
        logged = portable_copy(model, example_inputs)
        modules = modules_needed(logged)
        metadata = {kerazoo_pyfunc.KERAS_MODULES: modules} if modules else {}
        if class_names is not None:
            metadata[kerazoo_pyfunc.CLASS_NAMES] = [str(name) for name in class_names]
        outputs = zeros_like_outputs(logged, example_inputs)  # a signature needs only shapes
        answers = kerazoo_pyfunc.KerasPredictor(logged, class_names).answers(outputs)
        return Model.log(artifact_path=None, name=name, flavor=KerasWithKerazooPyfunc,
                         flavor_name="keras", model=logged, metadata=metadata,
                         signature=infer_signature(example_inputs, answers),
                         pip_requirements=list(pip_requirements(tuple(modules))))

    def callback(self, history: dict[str, list[float]] | None = None,
                 flush_at_train_end: bool = True):
        """A Keras callback logging each epoch's `logs` to this run (see epoch_metrics)."""
        from kerazoo.tracking.epoch_metrics import MetricsCallback

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


def _end_run_left_active() -> None:
    """At exit, a run still active is one whose ending was cut short (a signal during
    TrackedRun's exit, as a launcher stops a rank whose peer died): MLflow's own exit hook,
    which runs after this one, would end it FINISHED. It ends KILLED, as an interrupted run."""
    run = mlflow.active_run()
    if run is not None:
        with contextlib.suppress(Exception):
            mlflow.MlflowClient().set_tag(run.info.run_id, "kerazoo.interrupted", "true")
            mlflow.end_run(status=RunStatus.to_string(RunStatus.KILLED))


atexit.register(_end_run_left_active)  # after MLflow's, imported above: so it runs first


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
                           f"{masked(mlflow.get_tracking_uri())!r}; `kerazoo compare` lists "
                           "runs") from None


def metric_history(run_id: str, key: str) -> list[tuple[int, float]]:
    history = mlflow.MlflowClient().get_metric_history(run_id, key)
    return sorted((metric.step, metric.value) for metric in history)


# --- logged models ------------------------------------------------------------------------------

def run_model_uri(run_id: str) -> str:
    """`runs:/RUN_ID/NAME` of the model that run `run_id` logged (named after its recipe)."""
    run = find_run(run_id)
    outputs = run.outputs.model_outputs if run.outputs else []
    if not outputs:
        raise KerazooError(f"run {run_id} ({run.info.status}) logged no model; a run logs its "
                           "model when it finishes")
    model = mlflow.MlflowClient().get_logged_model(outputs[-1].model_id)
    return f"runs:/{run_id}/{model.name}"


def check_model_uri(uri: str) -> None:
    """A one-line KerazooError unless `uri` names a model MLflow can load."""
    try:
        mlflow.models.get_model_info(uri)
    except Exception as error:  # MLflow raises several kinds for a missing model
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise KerazooError(f"no model {uri!r} in the tracking store "
                           f"{mlflow.get_tracking_uri()!r}: {message}") from None


def end_runs_of_process(uri: str, host: str, pid: int, since_ms: int, status: str,
                        reason: str | None = None) -> None:
    """End every run still RUNNING that process `pid` on `host` started (its
    `kerazoo.host`/`kerazoo.pid` tags): for a launcher whose rank 0 was stopped before it
    could end its run, or a sweep whose worker died. Only runs started since `since_ms` count
    (a process id is reused in time). A run the process ended itself as
    KILLED is marked FAILED when `status` says a peer failed; `reason` (the peer's failure)
    goes in the `kerazoo.job.failure` tag."""
    client = mlflow.MlflowClient(uri)
    experiments = [experiment.experiment_id for experiment in client.search_experiments()]
    if not experiments:
        return
    runs = client.search_runs(experiments, filter_string=(
        f"tags.`kerazoo.host` = '{host}' and tags.`kerazoo.pid` = '{pid}' and "
        f"attributes.start_time >= {since_ms}"))
    for run in runs:
        if reason:  # the cause, beside whatever error the process saw (a peer's lost socket)
            client.set_tag(run.info.run_id, "kerazoo.job.failure", masked(reason))
        if run.info.status == "RUNNING" or (status == "FAILED" and run.info.status == "KILLED"):
            if reason:
                client.set_tag(run.info.run_id, "kerazoo.error", masked(reason))
            client.set_terminated(run.info.run_id, status)


def trial_runs(experiment: str, study: str) -> dict[int, Any]:
    """The runs of a sweep's trials by trial number (their `kerazoo.sweep.*` tags)."""
    client = mlflow.MlflowClient()
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return {}
    runs = client.search_runs([found.experiment_id], max_results=10000, filter_string=(
        f"tags.`kerazoo.sweep.study` = '{study}' and tags.`kerazoo.sweep.trial` != ''"))
    return {int(run.data.tags["kerazoo.sweep.trial"]): run for run in runs}


def end_run_interrupted(run_id: str) -> None:
    """End a run KILLED after the fact, as TrackedRun ends an interrupted one."""
    client = mlflow.MlflowClient()
    client.set_tag(run_id, "kerazoo.interrupted", "true")
    client.set_terminated(run_id, RunStatus.to_string(RunStatus.KILLED))
