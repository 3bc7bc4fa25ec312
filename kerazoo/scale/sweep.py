"""`kerazoo sweep`: Optuna searches over recipe keys, each trial an MLflow run under one parent.

The study lives in an Optuna RDB storage (default `sqlite:///mlruns/optuna.db`; any
SQLAlchemy URL, such as PostgreSQL, lets several machines share it). Workers are processes:
`kerazoo sweep RECIPE` creates the study and the parent MLflow run, then starts `--workers`
copies of `kerazoo sweep --join STUDY`, which is also what other machines run to help. Each
worker asks the storage for the next trial, so Optuna coordinates them and kerazoo
schedules nothing. Everything a joining worker needs (the recipe, the search space, the
parent run) is kept in the study's user attributes.

Every epoch's validation metric is reported to Optuna and a median pruner may stop a trial;
its run then ends FINISHED with a `pruned` tag, because stopping early is a decision, not a
failure.

Trials and runs agree after any interruption: a trial that did not end COMPLETE or PRUNED is
FAIL in Optuna, and its MLflow run (if it started one) is KILLED, or FAILED when the trial
itself raised. SIGINT or SIGTERM to the starting process is forwarded once to each worker;
each ends its trial that way and exits with one line, then the parent run ends KILLED. A
worker killed outright (SIGKILL, a lost machine) stops beating Optuna's RDB heartbeat: its own
parent process fails its trial at once, and any other worker of the study does so once the
heartbeat is GRACE_SECONDS old (Optuna's stale-trial check), ending the run KILLED as well.
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import keras
import optuna
import yaml

from kerazoo import plots
from kerazoo.config.recipe import Recipe, Sweep, apply_overrides, load_recipe, validate
from kerazoo.errors import KerazooError, did_you_mean
from kerazoo.scale import search_space
from kerazoo.tracking import runs as tracking
from kerazoo.tracking.locks import file_lock
from kerazoo.tracking.uris import masked
from kerazoo.training import interrupts

DEFAULT_STORAGE = "sqlite:///mlruns/optuna.db"
# A worker waits this long for a busy SQLite file instead of failing the trial.
SQLITE_BUSY_SECONDS = 60
ATTRIBUTE = "kerazoo.sweep"  # the study user attribute holding what workers need
# A running trial's worker writes a heartbeat this often; a trial whose heartbeat is older
# than the grace period has lost its worker (a write can wait SQLITE_BUSY_SECONDS).
HEARTBEAT_SECONDS = 10
GRACE_SECONDS = 2 * SQLITE_BUSY_SECONDS


@dataclass(frozen=True)
class Plan:
    """What every worker of a study needs, stored in the study so `--join` needs nothing."""

    recipe: dict[str, Any]  # resolved recipe (smoke and --set overrides applied)
    params: tuple[str, ...]  # KEY=SPEC assignments
    metric: str
    smoke: bool
    tracking_uri: str
    parent_run_id: str = ""

    @property
    def space(self) -> dict[str, search_space.Distribution]:
        return search_space.parse_all(self.params)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Plan:
        data = json.loads(text)
        return cls(**{**data, "params": tuple(data["params"])})


# --- storage --------------------------------------------------------------------------------------

def display_url(url: str) -> str:
    """The URL without its password, for logs and messages."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        make_url(url)  # checks the form
    except ArgumentError:
        raise KerazooError(f"--storage must be a SQLAlchemy URL such as {DEFAULT_STORAGE} or "
                           f"postgresql://USER@HOST/DATABASE. Received: --storage={masked(url)!r}"
                           ) from None
    return masked(url)


def open_storage(url: str, create: bool = False,
                 grace_seconds: int = GRACE_SECONDS) -> optuna.storages.RDBStorage:
    """Open the study storage; with `create`, make its tables (once, under a file lock for
    SQLite: Optuna's first-time schema creation races when processes do it together).

    Trials beat Optuna's heartbeat; a trial silent for `grace_seconds` is failed by the next
    worker to start a trial, and its MLflow run ended KILLED (`trial_lost`)."""
    shown = display_url(url)
    path = tracking.sqlite_path(url)
    options = {"engine_kwargs": {"connect_args": {"timeout": SQLITE_BUSY_SECONDS}}
               if path else None, "heartbeat_interval": HEARTBEAT_SECONDS,
               "grace_period": grace_seconds, "heartbeat_stale_trial_callback": trial_lost}
    try:
        with warnings.catch_warnings():  # the heartbeat is "experimental" since Optuna 2.9
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            if path is not None and create:
                path.parent.mkdir(parents=True, exist_ok=True)
                with file_lock(path.with_name(path.name + ".lock")):
                    return optuna.storages.RDBStorage(url, **options)
            return optuna.storages.RDBStorage(url, skip_table_creation=not create, **options)
    except (ImportError, OSError, ValueError, RuntimeError, optuna.exceptions.OptunaError,
            _sqlalchemy_error()) as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise KerazooError(f"cannot open the Optuna storage {shown!r}: "
                           f"{type(error).__name__}: {masked(message)}") from None


def _sqlalchemy_error() -> type[Exception]:
    from sqlalchemy.exc import SQLAlchemyError

    return SQLAlchemyError


def pruner() -> optuna.pruners.BasePruner:
    """Median pruning from the sixth trial on: the first five set the bar (Optuna's default)."""
    return optuna.pruners.MedianPruner()


def load_study(name: str, storage: optuna.storages.RDBStorage,
               study_pruner: optuna.pruners.BasePruner | None = None
               ) -> tuple[optuna.Study, Plan]:
    try:
        study = optuna.load_study(study_name=name, storage=storage,
                                  pruner=study_pruner or pruner())
    except KeyError:
        known = optuna.get_all_study_names(storage)
        raise KerazooError(f"--join: no study {name!r} in this storage"
                           f"{did_you_mean(name, known)}; accepted: "
                           f"{', '.join(known) or 'none yet'}") from None
    if ATTRIBUTE not in study.user_attrs:
        raise KerazooError(f"--join: study {name!r} was not created by `kerazoo sweep` "
                           "(it has no recipe); join only kerazoo sweeps")
    return study, Plan.from_json(study.user_attrs[ATTRIBUTE])


# --- planning ---------------------------------------------------------------------------------

def settings(recipe: Recipe, params: tuple[str, ...], trials: int | None, workers: int | None,
             metric: str | None, direction: str | None) -> tuple[Sweep, tuple[str, ...]]:
    """The recipe's `sweep:` section overridden by the command line, checked."""
    section = recipe.sweep or Sweep()
    assignments = tuple(f"{key}={spec}" for key, spec in section.params.items()) + params
    if not assignments:
        raise KerazooError(f"recipe {recipe.name!r}: nothing to search; give --param "
                           "KEY=SPEC (e.g. --param 'model.dropout=uniform(0, 0.5)') or a "
                           "sweep.params section")
    from kerazoo.training.runner import epoch_metric_names

    metric = metric or section.metric
    known = epoch_metric_names(recipe)
    if metric not in known:
        raise KerazooError(f"--metric: recipe {recipe.name!r} logs no per-epoch metric "
                           f"{metric!r}{did_you_mean(metric, known)}; accepted: "
                           f"{', '.join(known)}. Received: --metric={metric}")
    if direction is None:
        from kerazoo.tracking.compare import smaller_is_better

        direction = section.direction or ("minimize" if smaller_is_better(metric)
                                          else "maximize")
    chosen = section.model_copy(update={
        "metric": metric, "direction": direction,
        "trials": section.trials if trials is None else trials,
        "workers": section.workers if workers is None else workers})
    if chosen.trials < 1 or chosen.workers < 1:
        raise KerazooError(f"--trials and --workers must be positive integers. Received: "
                           f"--trials={chosen.trials} --workers={chosen.workers}")
    return chosen, assignments


def check_space(recipe: Recipe, space: dict[str, search_space.Distribution]) -> None:
    """Try the ends of every range (and every choice) in the recipe, building the model for
    model keys, so a misspelled key or a range of invalid values fails now, not in every
    trial."""
    from kerazoo.training.runner import build_model

    example = [(key, search_space.example_value(d)) for key, d in space.items()]
    resolved = recipe.resolved()  # apply_overrides works on a copy
    for key, distribution in space.items():
        for value in search_space.probe_values(distribution):
            probe = apply_overrides(resolved, [*example, (key, value)])
            try:
                checked = validate(probe, recipe.name)
                if key.startswith("model."):
                    build_model(checked.model, {})
            except KerazooError as error:
                raise KerazooError(f"--param {key}={distribution.spec}: with {key}={value!r}: "
                                   f"{error}") from None


def default_study_name(recipe: Recipe) -> str:
    return f"{recipe.name}-{time.strftime('%Y%m%d-%H%M%S')}"


def shares(trials: int, workers: int) -> list[int]:
    """Trials per worker adding up to `trials` exactly (no worker gets none)."""
    workers = min(workers, trials)
    return [trials // workers + (1 if index < trials % workers else 0)
            for index in range(workers)]


# --- the starting machine -------------------------------------------------------------------------

def start(recipe_name: str, overrides: tuple[str, ...], params: tuple[str, ...], *,
          trials: int | None = None, workers: int | None = None, storage: str | None = None,
          study_name: str | None = None, smoke: bool = False, metric: str | None = None,
          direction: str | None = None, tracking_uri: str | None = None,
          hide: Callable[[str], Any] | None = None) -> dict[str, Any]:
    """Create the study and the parent run, run the workers, log the summary.

    `hide` filters the workers' relayed output lines (backend chatter)."""
    recipe = load_recipe(recipe_name, overrides, smoke=smoke)
    section, assignments = settings(recipe, params, trials, workers, metric, direction)
    space = search_space.parse_all(assignments)
    check_space(recipe, space)
    url = storage or DEFAULT_STORAGE
    uri = tracking.tracking_uri(tracking_uri)
    tracking.prepare_store(uri)  # MLflow's tables, once, before any worker
    rdb = open_storage(url, create=True)
    name = study_name or default_study_name(recipe)
    try:
        study = optuna.create_study(storage=rdb, study_name=name, direction=section.direction,
                                    pruner=pruner())
    except optuna.exceptions.DuplicatedStudyError:
        raise KerazooError(f"--study: a study {name!r} exists already in "
                           f"{display_url(url)!r}; add workers to it with --join {name}, or "
                           "pick another name") from None
    # The URI is kept masked: joiners on other machines give theirs (--tracking-uri).
    plan = Plan(recipe.resolved(), tuple(assignments), section.metric, smoke, masked(uri))
    tags = {"kerazoo.recipe": recipe.name, "kerazoo.sweep.study": name,
            "kerazoo.sweep.role": "parent", "kerazoo.smoke": str(smoke).lower()}
    experiment = tracking.experiment_for(recipe.experiment, smoke)
    with interrupts.signals_as_interrupt(), tracking.TrackedRun(
            experiment, run_name=f"sweep {name}", uri=uri, tags=tags) as parent:
        plan = dataclasses.replace(plan, parent_run_id=parent.run_id)
        study.set_user_attr(ATTRIBUTE, plan.to_json())
        parent.log_params({
            "sweep.study": name, "sweep.storage": display_url(url), "sweep.trials":
            section.trials, "sweep.workers": section.workers, "sweep.metric": section.metric,
            "sweep.direction": section.direction, "recipe": recipe.name,
            **{f"sweep.params.{key}": d.spec for key, d in space.items()}})
        parent.log_text(yaml.safe_dump(recipe.resolved(), sort_keys=False), "recipe.yaml")
        ended = run_workers(study, plan, url, section.trials, section.workers, uri, hide)
        summary = summarize(study, plan, parent)
        if ended.status:  # the parent run ends FAILED
            raise KerazooError(f"sweep {ended.describe()}; the finished trials are in study "
                               f"{name!r} (continue with --join {name})")
    summary["ui"] = tracking.run_url(parent.experiment_id, parent.run_id, uri)
    return summary


def run_workers(study: optuna.Study, plan: Plan, url: str, trials: int, workers: int,
                uri: str, hide: Callable[[str], Any] | None = None):
    """`workers` processes of `kerazoo sweep --join`, sharing the trials. They are told
    they are helpers (`--helper`): the process that started them writes the summary.
    However they end, none is left running, and the trials they left agree with their
    runs; the tracking URI and the storage URL reach them in the environment, not on a
    command line that `ps` shows (either may hold a password)."""
    from kerazoo.scale.launch import run_together

    commands = {
        f"worker {index}": [sys.executable, "-m", "kerazoo.cli", "sweep", "--join",
                            study.study_name, "--trials", str(count),
                            "--workers", "1", "--helper"]
        for index, count in enumerate(shares(trials, workers))}
    pids: dict[str, int] = {}
    environment = {**os.environ, "PYTHONUNBUFFERED": "1", "MLFLOW_TRACKING_URI": uri,
                   "KERAZOO_SWEEP_STORAGE": url}
    try:
        return run_together(commands, environment, hide, pids)
    finally:
        agree(study, plan, dead_workers=set(pids.values()))


# --- joining workers ----------------------------------------------------------------------------

def join(name: str, storage: str | None, *, trials: int, workers: int = 1,
         tracking_uri: str | None = None, helper: bool = False,
         study_pruner: optuna.pruners.BasePruner | None = None,
         hide: Callable[[str], Any] | None = None) -> dict[str, Any] | None:
    """Run `trials` trials of an existing study here, in `workers` processes.

    A joiner that finds the parent run already ended (it came after the starting machine
    finished) brings the parent's summary up to date; a `helper` started by another kerazoo
    process leaves that to it.
    """
    url = storage or DEFAULT_STORAGE
    rdb = open_storage(url)
    study, plan = load_study(name, rdb, study_pruner)
    uri = joining_uri(tracking_uri, plan)
    tracking.prepare_store(uri)
    with interrupts.signals_as_interrupt():
        if workers > 1:
            ended = run_workers(study, plan, url, trials, workers, uri, hide)
            if ended.status:
                raise KerazooError(f"sweep {ended.describe()}")
        else:
            run_trials(study, plan, trials, uri)
    if helper or tracking.run_status(plan.parent_run_id) == "RUNNING":
        return None  # the starting machine summarizes when its workers end
    with tracking.TrackedRun("", run_name="", uri=uri,
                             resume_run_id=plan.parent_run_id) as parent:
        return summarize(study, plan, parent)


def joining_uri(explicit: str | None, plan: Plan) -> str:
    """Where a joiner logs: --tracking-uri, else the study's URI, unless that held a password
    (kept masked in the study), else $MLFLOW_TRACKING_URI."""
    if explicit:
        return explicit
    if masked(plan.tracking_uri) == plan.tracking_uri and "***@" not in plan.tracking_uri:
        return plan.tracking_uri
    if os.environ.get("MLFLOW_TRACKING_URI"):
        return os.environ["MLFLOW_TRACKING_URI"]
    raise KerazooError(f"--join: the study logs to {plan.tracking_uri!r}, whose password is "
                       "not kept in the study; give --tracking-uri or set MLFLOW_TRACKING_URI")


class OptunaPruning(keras.callbacks.Callback):
    """Reports the metric to the trial each epoch and stops `fit` when the pruner says so.

    It stops training instead of raising, so the MLflow run ends FINISHED with its history
    and model; the sweep then tags it `pruned` and tells Optuna.
    """

    def __init__(self, trial: optuna.Trial, metric: str):
        super().__init__()
        self.trial = trial
        self.metric = metric
        self.last_value: float | None = None
        self.pruned_at: int | None = None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        if self.metric not in logs:
            raise KerazooError(f"sweep metric {self.metric!r} is not among this run's metrics"
                               f"{did_you_mean(self.metric, logs)}; accepted: "
                               f"{', '.join(logs)}")
        self.last_value = float(logs[self.metric])
        self.trial.report(self.last_value, step=epoch + 1)
        if self.trial.should_prune():
            self.pruned_at = epoch + 1
            self.model.stop_training = True


def run_trials(study: optuna.Study, plan: Plan, trials: int, uri: str) -> None:
    """Run trials in this process until `trials` have ended here (any state)."""
    from kerazoo.training.runner import run_recipe

    space = plan.space
    name = plan.recipe.get("name", "recipe")

    interrupted: list[KeyboardInterrupt] = []

    def objective(trial: optuna.Trial) -> float:
        values = {key: distribution.suggest(trial) for key, distribution in space.items()}
        pruning = OptunaPruning(trial, plan.metric)
        try:
            with interrupts.interruptible():  # the trial's own work; its bookkeeping is not
                recipe = validate(apply_overrides(plan.recipe, list(values.items())), name)
                result = run_recipe(
                    recipe, smoke=plan.smoke, tracking_uri=uri, verbose=0,
                    extra_callbacks=[pruning], parent_run_id=plan.parent_run_id,
                    tags={"kerazoo.sweep.study": study.study_name,
                          "kerazoo.sweep.trial": str(trial.number)})
        except KerazooError as error:  # a value the range allowed but the recipe does not:
            print(f"kerazoo: trial {trial.number} failed: {error}", file=sys.stderr)
            return float("nan")  # Optuna records the trial FAILED, without a traceback
        except KeyboardInterrupt as interruption:  # the run ended KILLED (if it began)
            interrupted.append(interruption)
            study.stop()
            # FAIL without Optuna's traceback or warning: the worker says it once, on exit.
            optuna.logging.set_verbosity(optuna.logging.ERROR)
            return float("nan")
        finally:
            keras.backend.clear_session()  # trials must not pile up graphs in one worker
        trial.set_user_attr("mlflow_run_id", result.run_id)
        if pruning.pruned_at is not None:
            tracking.tag_run(result.run_id, {"pruned": "true",
                                             "kerazoo.sweep.pruned_at_epoch": pruning.pruned_at})
            raise optuna.TrialPruned(f"pruned at epoch {pruning.pruned_at}")
        return pruning.last_value

    # A trial that raises is recorded FAILED (its run too) and the worker goes on: a bad
    # corner of the space must not end the sweep. Signals interrupt only a trial's own work
    # (interrupts.interruptible): Optuna's asking and telling around it finish first, so a
    # trial is never left RUNNING by a worker that stopped.
    try:
        with interrupts.signals_as_interrupt(), interrupts.critical_section():
            study.optimize(objective, n_trials=trials, catch=(Exception,),
                           gc_after_trial=True)
    except KeyboardInterrupt:
        agree(study, plan)
        raise
    if interrupted:
        agree(study, plan)
        raise interrupted[0]


# --- trials and runs agree ---------------------------------------------------------------------

def agree(study: optuna.Study, plan: Plan, dead_workers: set[int] = frozenset(),
          only: set[int] | None = None) -> None:
    """Bring Optuna and MLflow to agree on every trial (or those numbered in `only`).

    A trial still RUNNING whose run was started by one of `dead_workers` (process ids on this
    host, reaped by the caller) is failed now. A FAIL trial's run that is RUNNING (its worker
    died) or FINISHED (interrupted after its run ended, before Optuna was told) ends KILLED.
    """
    runs = tracking.trial_runs(tracking.experiment_for(plan.recipe["experiment"], plan.smoke),
                               study.study_name)
    host = socket.gethostname()
    for trial in study.get_trials(deepcopy=False):
        run = runs.get(trial.number)
        if run is None or (only is not None and trial.number not in only):
            continue
        state = trial.state
        if (state == optuna.trial.TrialState.RUNNING and run.data.tags.get("kerazoo.host") == host
                and run.data.tags.get("kerazoo.pid") in {str(pid) for pid in dead_workers}):
            study.tell(trial.number, state=optuna.trial.TrialState.FAIL, skip_if_finished=True)
            state = optuna.trial.TrialState.FAIL
        if state == optuna.trial.TrialState.FAIL and run.info.status in ("RUNNING", "FINISHED"):
            tracking.end_run_interrupted(run.info.run_id)


def trial_lost(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
    """Optuna's heartbeat found `trial` silent past the grace period and failed it: its
    worker is gone, so its run ends KILLED too."""
    if ATTRIBUTE in study.user_attrs:
        agree(study, Plan.from_json(study.user_attrs[ATTRIBUTE]), only={trial.number})


# --- the parent run's summary ---------------------------------------------------------------------

def summarize(study: optuna.Study, plan: Plan, parent) -> dict[str, Any]:
    """Best value and params, trial counts and Optuna's plots, on the parent run."""
    trials = study.get_trials(deepcopy=False)
    counts = {state.name.lower(): sum(trial.state == state for trial in trials)
              for state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED,
                            optuna.trial.TrialState.FAIL)}
    summary: dict[str, Any] = {"study": study.study_name, "trials": counts}
    parent.log_metrics({f"trials_{state}": count for state, count in counts.items()},
                       step=len(trials))
    if not counts["complete"]:
        parent.flush()
        return summary
    best = study.best_trial
    summary.update(best_value=best.value, best_params=best.params, best_trial=best.number,
                   best_run_id=best.user_attrs.get("mlflow_run_id"))
    parent.log_metrics({f"best_{plan.metric}": best.value}, step=len(trials), flush=True)
    parent.set_tags({"best.trial": best.number,
                     "best.run_id": best.user_attrs.get("mlflow_run_id", ""),
                     **{f"best.{key}": value for key, value in best.params.items()}})
    parent.log_text(yaml.safe_dump({"metric": plan.metric, "best_value": best.value,
                                    "best_trial": best.number, "best_params": best.params},
                                   sort_keys=False), "best_params.yaml")
    _log_plots(study, parent, counts["complete"], plan.metric)
    return summary


def _log_plots(study: optuna.Study, parent, complete: int, metric: str) -> None:
    from optuna.visualization import matplotlib as optuna_plots

    figures = {"plots/optimization_history.png": optuna_plots.plot_optimization_history}
    if complete >= 2:  # importance compares trials: one cannot rank anything
        figures["plots/param_importances.png"] = optuna_plots.plot_param_importances
    for artifact, draw in figures.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            axes = draw(study)
        if artifact.endswith("history.png"):
            axes.set_ylabel(metric)
            axes.legend(loc="best")  # Optuna puts it outside the axes, where it is cut off
        figure = axes.figure
        figure.set_size_inches(7, 4.5)
        figure.tight_layout()
        parent.log_figure(figure, artifact, plots.SAVE_OPTIONS)
        plots.close(figure)
