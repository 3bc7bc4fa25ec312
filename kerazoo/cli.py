"""The `kerazoo` command line.

User mistakes (a `KerazooError`, a bad option) print one line on stderr and exit with status 2,
never a traceback. Heavy imports (Keras, MLflow) happen inside the commands that need them.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from pathlib import Path

import click

from kerazoo.config.recipe import STRATEGIES
from kerazoo.errors import KerazooError, TrackingLost, TrainingDiverged, WorkerFailed
from kerazoo.quiet_backend import BACKEND_CHATTER, import_keras_quietly


def _print_table(rows: list[dict], empty: str) -> None:
    import pandas as pd

    if not rows:
        click.echo(empty)
        return
    with pd.option_context("display.width", 200, "display.max_columns", None,
                           "display.max_colwidth", 60):
        click.echo(pd.DataFrame(rows).to_string(index=False))


class Interrupted(Exception):
    """A KeyboardInterrupt (Ctrl-C, SIGTERM) out of a command, carried past click, which
    would print an empty line for it before `main` prints the one line that says so."""


class _Commands(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as interruption:
            raise Interrupted() from interruption


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="kerazoo")
def cli() -> None:
    """kerazoo: a Keras 3 model zoo with MLflow tracking."""


@cli.command("list")
@click.argument("pattern", default="*")
def list_models_command(pattern: str) -> None:
    """Registered models matching PATTERN (shell wildcards), with their size at defaults."""
    import fnmatch
    from importlib import metadata

    from kerazoo import catalog

    table = catalog.stored()  # built-in models, without importing Keras (see catalog.py)
    if metadata.entry_points(group="kerazoo.models"):  # plugins: only building tells
        import_keras_quietly()
        import kerazoo

        table.update({name: catalog.row(name) for name in kerazoo.list_models(pattern)
                      if name not in table})
    rows = [{"name": name, **{column: table[name][column] for column in catalog.COLUMNS}}
            for name in sorted(table) if fnmatch.fnmatchcase(name, pattern)]
    for row in rows:
        row["parameters"] = f"{row['parameters']:,}"
        if len(row["summary"]) > 80:
            row["summary"] = row["summary"][:77].rsplit(" ", 1)[0] + " ..."
    _print_table(rows, f"no model matches {pattern!r}")


@cli.command("recipes")
def recipes_command() -> None:
    """Recipes that `kerazoo run NAME` finds."""
    from kerazoo.config.recipe import available_recipes, read_yaml

    rows = []
    for name, path in available_recipes().items():
        data = read_yaml(path)
        rows.append({"recipe": name, "model": (data.get("model") or {}).get("name", ""),
                     "data": (data.get("data") or {}).get("name", ""),
                     "experiment": data.get("experiment", ""),
                     "description": str(data.get("description", "")).strip()[:60]})
    _print_table(rows, "no recipes found")


@cli.command("models")
@click.option("--tracking-uri", default=None)
def models_command(tracking_uri: str | None) -> None:
    """Registered recipes: the version `kerazoo.load(NAME)` returns, its quality and run."""
    from kerazoo.tracking import presets

    _print_table(presets.best_versions(tracking_uri),
                 "no registered models yet: a finished `kerazoo run RECIPE` registers one")


@cli.command("run")
@click.argument("recipe")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a recipe value, e.g. --set train.epochs=3 (repeatable).")
@click.option("--smoke", is_flag=True, help="1 epoch on small subsets: checks it works.")
@click.option("--tracking-uri", default=None,
              help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI or mlruns/mlflow.db).")
@click.option("--quiet", is_flag=True, help="No per-epoch progress lines.")
@click.option("--resume", "resume_run_id", default=None, metavar="RUN_ID",
              help="Continue this interrupted run from its last completed epoch.")
@click.option("--download", is_flag=True,
              help="Let a classic-dataset loader fetch its files when they are not found "
                   "locally (same as --set data.download=true); nothing downloads without it.")
@click.option("--distribute", type=click.Choice(STRATEGIES),
              default=None, help="Sets train.distribute: mirrored (TensorFlow, this host's "
              "devices) or data_parallel (JAX, one or more processes).")
@click.option("--coordinator", default=None, metavar="HOST:PORT",
              help="data_parallel over several processes: process 0's address.")
@click.option("--num-processes", type=int, default=None, help="Processes in the job.")
@click.option("--process-id", type=int, default=None, help="This process's rank, from 0.")
@click.option("--no-register", is_flag=True, help="Do not add the model to the registry "
              "(a finished non-smoke run registers it under the recipe's name).")
@click.option("--workers", type=int, default=None,
              help="Sets train.workers: HOGWILD! worker processes (train.strategy: hogwild).")
def run_command(recipe: str, overrides: tuple[str, ...], smoke: bool,
                tracking_uri: str | None, quiet: bool, resume_run_id: str | None,
                download: bool, distribute: str | None, coordinator: str | None,
                num_processes: int | None, process_id: int | None,
                no_register: bool, workers: int | None) -> None:
    """Train RECIPE (a name from `kerazoo recipes` or a .yaml path) and log it to MLflow."""
    import_keras_quietly()
    from kerazoo.config.recipe import load_recipe
    from kerazoo.registry import data_registry
    from kerazoo.training import resume_lock
    from kerazoo.training.runner import run_recipe

    if coordinator or num_processes is not None or process_id is not None:
        _enter_multi_process_job(distribute, coordinator, num_processes, process_id)
    if distribute:
        overrides = (*overrides, f"train.distribute={distribute}")
    if workers is not None:  # validated with the recipe: one line naming train.workers
        overrides = (*overrides, f"train.workers={workers}")
    loaded = load_recipe(recipe, overrides, smoke=smoke)
    # Loaders of embedded or generated data take no `download`: for them the flag is moot.
    if download and "download" in data_registry.get(loaded.data.name).parameters:
        loaded = load_recipe(recipe, (*overrides, "data.download=true"), smoke=smoke)
    # One resume of a run at a time, held until it ends (a multi-process run never resumes).
    with resume_lock.resuming(resume_run_id if process_id is None else None, tracking_uri):
        result = run_recipe(loaded, smoke=smoke, tracking_uri=tracking_uri,
                            verbose=0 if quiet else 2, resume_run_id=resume_run_id,
                            register=not no_register)
    metrics = ", ".join(f"{name}={value:.4f}" for name, value in result.metrics.items())
    who = f"run {result.run_id}" if result.run_id else f"rank {process_id}"
    click.echo(f"{who} ({loaded.name}) finished: {metrics}")
    if result.run_id:
        _echo_where(result, tracking_uri)


def _echo_where(result, uri: str | None) -> None:
    """The closing lines: where the run is, in the registry and in the UI."""
    from kerazoo.tracking.runs import UI_ADDRESS, run_url, ui_address

    if result.registered:
        registered = result.registered
        moved = registered.best_version == registered.version
        click.echo(f"registered {registered.name} version {registered.version}; "
                   f"`best` is version {registered.best_version}"
                   f"{'' if moved else ' (this run did not beat it)'}: "
                   f"kerazoo.load({registered.name!r})")
    click.echo(f"experiment: {result.experiment} (id {result.experiment_id})")
    click.echo(f"run: {run_url(result.experiment_id, result.run_id, uri)}")
    if ui_address(uri) == UI_ADDRESS:  # a local store, which no server shows yet
        click.echo("(serve that address with `make ui`)")


def _enter_multi_process_job(distribute: str | None, coordinator: str | None,
                          num_processes: int | None, process_id: int | None) -> None:
    """--coordinator, --num-processes and --process-id go together, with data_parallel."""
    from kerazoo.training import distributed

    if distribute != "data_parallel" or None in (coordinator, num_processes, process_id):
        raise KerazooError("a multi-process run takes --distribute data_parallel --coordinator "
                           "HOST:PORT --num-processes N --process-id I together. Received: "
                           f"--distribute={distribute} --coordinator={coordinator} "
                           f"--num-processes={num_processes} --process-id={process_id}")
    distributed.initialize(coordinator, num_processes, process_id)


@cli.command("launch")
@click.argument("recipe")
@click.option("--processes", "-n", type=int, default=2, show_default=True,
              help="Local worker processes (each a JAX process with its own devices).")
@click.option("--port", type=click.IntRange(1, 65535), default=None,
              help="Coordinator port on 127.0.0.1 (default: a free one).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE")
@click.option("--smoke", is_flag=True)
@click.option("--tracking-uri", default=None)
@click.option("--quiet", is_flag=True)
def launch_command(recipe: str, processes: int, port: int | None, overrides: tuple[str, ...],
                   smoke: bool, tracking_uri: str | None, quiet: bool) -> None:
    """Train RECIPE data-parallel on JAX in PROCESSES local processes; rank 0 logs one run."""
    from kerazoo.config.recipe import load_recipe
    from kerazoo.scale.launch import JOB, launch
    from kerazoo.training import distributed

    import_keras_quietly()  # checking the recipe imports the backend: without its chatter
    load_recipe(recipe, overrides, smoke=smoke)  # a mistake is one line here, not N workers'
    distributed.require_jax(JOB)  # one line now, not a traceback from every worker
    arguments = [item for override in overrides for item in ("--set", override)]
    arguments += ["--smoke"] * smoke + ["--quiet"] * quiet
    arguments += ["--tracking-uri", tracking_uri] if tracking_uri else []
    ended = launch(recipe, processes, arguments, port, hide=BACKEND_CHATTER.match,
                   tracking_uri=tracking_uri)
    if ended.status:
        from kerazoo.scale.launch import exit_status

        error = click.ClickException(f"{ended.describe()}; the other ranks were stopped")
        error.exit_code = exit_status(ended.status)  # 2 still means a user mistake, 130 an
        raise error  # interruption


@cli.command("sweep")
@click.argument("recipe", required=False)
@click.option("--param", "params", multiple=True, metavar="KEY=SPEC",
              help="A recipe key and its range: uniform(0, 0.5), loguniform(1e-4, 1e-1), "
              "int(16, 128), choice([64, 128]) (repeatable; adds to the recipe's sweep.params).")
@click.option("--trials", type=click.IntRange(1), default=None, help="Trials in all (default: "
              "sweep.trials or 20); with --join, the trials this machine adds (required).")
@click.option("--workers", type=click.IntRange(1), default=None,
              help="Worker processes on this machine (default: sweep.workers or 1).")
@click.option("--storage", default=None, metavar="URL", envvar="KERAZOO_SWEEP_STORAGE",
              help="Optuna storage, any SQLAlchemy URL (default: $KERAZOO_SWEEP_STORAGE or "
              "sqlite:///mlruns/optuna.db).")
@click.option("--study", "study_name", default=None, help="Study name (default: RECIPE-TIME).")
@click.option("--join", "join_study", default=None, metavar="STUDY",
              help="Add workers to an existing study instead of starting one.")
@click.option("--metric", default=None, help="Per-epoch metric to optimize (default: "
              "sweep.metric or val_loss).")
@click.option("--direction", type=click.Choice(["minimize", "maximize"]), default=None)
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE")
@click.option("--smoke", is_flag=True, help="Every trial 1 epoch on small subsets.")
@click.option("--tracking-uri", default=None)
@click.option("--helper", is_flag=True, hidden=True)  # a worker started by another sweep
def sweep_command(recipe: str | None, params: tuple[str, ...], trials: int | None,
                  workers: int | None, storage: str | None, study_name: str | None,
                  join_study: str | None, metric: str | None, direction: str | None,
                  overrides: tuple[str, ...], smoke: bool, tracking_uri: str | None,
                  helper: bool) -> None:
    """Search RECIPE's hyperparameters with Optuna; each trial an MLflow run under one parent."""
    import_keras_quietly()
    from kerazoo.scale import sweep

    if join_study:
        if recipe or params or overrides or smoke or study_name or metric or direction:
            raise KerazooError("--join takes the recipe and search space from the study: give "
                               "only --storage, --trials, --workers and --tracking-uri. "
                               f"Received: RECIPE={recipe} --param={list(params)}")
        if trials is None:
            raise KerazooError(f"--join {join_study} needs --trials N, the trials this machine "
                               "adds to the study")
        summary = sweep.join(join_study, storage, trials=trials, workers=workers or 1,
                             tracking_uri=tracking_uri, helper=helper,
                             hide=BACKEND_CHATTER.match)
    elif not recipe:
        raise KerazooError("sweep needs a RECIPE, or --join STUDY to help a running sweep")
    else:
        summary = sweep.start(recipe, overrides, params, trials=trials, workers=workers,
                              storage=storage, study_name=study_name, smoke=smoke,
                              metric=metric, direction=direction, tracking_uri=tracking_uri,
                              hide=BACKEND_CHATTER.match)
    if summary:
        click.echo(f"study {summary['study']}: {summary['trials']}")
        if not summary["trials"]["complete"] and not summary["trials"]["pruned"]:
            raise KerazooError(f"study {summary['study']}: no trial completed "
                               f"({summary['trials']['fail']} failed; their errors are above)")
        if "best_value" in summary:
            click.echo(f"best trial {summary['best_trial']} (run {summary['best_run_id']}): "
                       f"{summary['best_value']:.4f} with {summary['best_params']}")
        if "ui" in summary:
            click.echo(f"sweep run: {summary['ui']}")


@cli.command("lr-find")
@click.argument("recipe")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a recipe value, e.g. --set train.optimizer=sgd (repeatable).")
@click.option("--smoke", is_flag=True, help="Small subsets: checks it works.")
@click.option("--plot", "plot_path", default=None, metavar="PATH",
              help="Where to write the curve (default: lr_find_<recipe>.png).")
def lr_find_command(recipe: str, overrides: tuple[str, ...], smoke: bool,
                    plot_path: str | None) -> None:
    """Run the learning-rate range test on RECIPE's model and data; print the suggestion."""
    import_keras_quietly()
    from kerazoo.callbacks import lr_finder_plot
    from kerazoo.config.recipe import load_recipe
    from kerazoo.training.runner import prepare

    loaded = load_recipe(recipe, [*overrides, "train.learning_rate=auto"], smoke=smoke)
    result = prepare(loaded, smoke).lr_finder
    path = lr_finder_plot.save(result, plot_path or f"lr_find_{loaded.name}.png")
    steepest = "none" if result.steepest is None else f"{result.steepest:.3g}"
    click.echo(f"suggested learning rate for {loaded.name}: {result.suggestion:.3g} "
               f"(steepest descent {steepest}, minimum/10 {result.minimum_over_10:.3g}); "
               f"curve: {path}")


@cli.command("compare")
@click.option("--experiment", "-e", "experiments", multiple=True,
              help="Only runs of this experiment (repeatable; default: all).")
@click.option("--sort", default=None, metavar="COLUMN[:asc|desc]",
              help="Sort by a column; losses and errors sort ascending by default.")
@click.option("--filter", "filter_string", default="",
              help="MLflow search filter, e.g. \"metrics.test_accuracy > 0.9\".")
@click.option("--max-runs", default=50, show_default=True, type=click.IntRange(1, 10000))
@click.option("--plot", "plot_metric", default=None, metavar="METRIC",
              help="Also write a PNG overlaying METRIC's history across the runs.")
@click.option("--output", "plot_output", default=None, metavar="PATH",
              help="Where --plot writes its PNG (default: compare_METRIC.png).")
@click.option("--tracking-uri", default=None)
def compare_command(experiments: tuple[str, ...], sort: str | None, filter_string: str,
                    max_runs: int, plot_metric: str | None, tracking_uri: str | None,
                    plot_output: str | None = None) -> None:
    """Runs side by side: recipe, the params that differ, final metrics, duration."""
    from kerazoo.tracking import compare
    from kerazoo.tracking import runs as tracking

    uri = tracking.tracking_uri(tracking_uri)
    if tracking.store_missing(uri):  # only reading: nothing is created here
        _no_store(uri, asked_for=bool(experiments or plot_metric))
        return
    tracking.prepare_store(uri)
    table = compare.runs_table(list(experiments), sort, filter_string, max_runs)
    _print_table(table.to_dict("records"), "no runs yet: try `kerazoo run mlp_digits`")
    if plot_metric:
        output = Path(plot_output) if plot_output else None
        if output is not None:
            output.parent.mkdir(parents=True, exist_ok=True)
        path = compare.plot_metric(plot_metric, list(experiments), filter_string, max_runs,
                                   output)
        click.echo(f"wrote {path}")


@cli.command("serve")
@click.argument("model")
@click.option("--port", type=click.IntRange(1, 65535), default=5001, show_default=True,
              help="Port on 127.0.0.1 (5000 is the tracking UI's).")
@click.option("--tracking-uri", default=None)
def serve_command(model: str, port: int, tracking_uri: str | None) -> None:
    """Serve MODEL with MLflow's scoring server: a run id, runs:/..., models:/..., or a
    recipe name (its registered best version). POST rows to /invocations."""
    from kerazoo.tracking.serve import serve

    serve(model, port, tracking_uri)


def _no_store(uri: str, asked_for: bool) -> None:
    """No store, no runs: a plain listing says so; asking for an experiment or a plot is a
    mistake, because there is nothing to find."""
    from kerazoo.tracking.uris import masked

    where = f"no tracking store at {masked(uri)!r}"
    if asked_for:
        raise KerazooError(f"{where}, so no runs to compare; give --tracking-uri or set "
                           "MLFLOW_TRACKING_URI to the store holding them")
    click.echo(f"no runs yet ({where}): try `kerazoo run mlp_digits`")


@cli.command("course")
@click.argument("name", required=False)
@click.option("--smoke", is_flag=True, help="Each run 1 epoch on small subsets: checks it "
              "works (the numbers then mean nothing).")
@click.option("--tracking-uri", default=None)
@click.option("--progress", is_flag=True, help="Each run's per-epoch progress lines.")
def course_command(name: str | None, smoke: bool, tracking_uri: str | None,
                   progress: bool) -> None:
    """The crash course: with no NAME, the lessons in order; with NAME, run that lesson (its
    runs side by side in MLflow experiment course-NAME, with its figure and what to look at)."""
    from kerazoo.course import find_lesson, lessons

    if name is None:
        listed = lessons()
        width = max(len(lesson.name) for lesson in listed)
        for lesson in listed:
            click.echo(f"{lesson.name:<{width}}  {lesson.topic} — {lesson.compares}")
        return
    lesson = find_lesson(name)  # an unknown name is one line before Keras is imported
    import_keras_quietly()
    from kerazoo.course.teach import run_lesson
    from kerazoo.tracking.runs import UI_ADDRESS, run_url, ui_address

    result = run_lesson(lesson, smoke=smoke, tracking_uri=tracking_uri,
                        verbose=2 if progress else 0, announce=click.echo)
    import textwrap

    for paragraph in result.text.split("\n\n"):
        click.echo("\n" + textwrap.fill(paragraph, width=100, break_on_hyphens=False))
    click.echo("")
    click.echo(f"figures: {', '.join(result.figures)}; what to look at: lesson.md")
    click.echo(f"experiment: {result.experiment} (id {result.experiment_id})")
    click.echo(f"lesson run: {run_url(result.experiment_id, result.run_id, tracking_uri)}")
    if ui_address(tracking_uri) == UI_ADDRESS:
        click.echo("(serve that address with `make ui`)")


def _full_disk_line(error: Exception) -> str | None:
    from kerazoo.tracking.disk_full import describe
    from kerazoo.tracking.runs import sqlite_path, tracking_uri

    return describe(error, store=str(sqlite_path(tracking_uri()) or "") or None)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: one-line errors and exit status 2 for user mistakes. As the
    `kerazoo` command (no `argv`), the process ends as soon as its last line is out."""
    try:
        _main(argv)
    except SystemExit as done:
        if argv is not None:  # called from Python (tests): an ordinary exit
            raise
        code = done.code
        exit_now(code if isinstance(code, int) else 0 if code is None else 1)


def exit_now(status: int) -> None:
    """End the process without the interpreter's teardown, once everything is written.

    Teardown took 2.5-7 s after the last line (issue 19), 24 s on a loaded machine: Python
    stacks sampled 1, 5 and 13 s after the last line all show the interpreter's final
    garbage collection (TensorFlow's and Keras' object graphs), besides the atexit callbacks
    (MLflow's async-logging threads joined, the figure helper closed). None of it has
    anything left to save by then: a run has ended (MLflow's `end_run` drains its
    queue first), child processes have been waited for, and the streams are flushed here.
    A signal now has nothing left to stop, so it ends the process at once, quietly (tested
    by tests/test_after_training.py)."""
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda *_: os._exit(130))
    # The one exit step kept: multiprocessing's (HOGWILD!'s queue and locks are released
    # there; skipped, its resource tracker reports them as leaked on stderr).
    if "multiprocessing.util" in sys.modules:
        sys.modules["multiprocessing.util"]._exit_function()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can be said
            pass
    os._exit(status)


def _main(argv: list[str] | None) -> None:
    try:
        code = cli.main(args=argv, prog_name="kerazoo", standalone_mode=False)
    except KerazooError as error:
        click.echo(f"kerazoo: error: {' '.join(str(error).split())}", err=True)
        sys.exit(2)
    except (TrainingDiverged, WorkerFailed) as error:  # no usage mistake; no traceback helps
        click.echo(f"kerazoo: run failed: {error}", err=True)
        sys.exit(1)
    except TrackingLost as error:
        line = _full_disk_line(error)
        click.echo(f"kerazoo: run failed: {line}" if line else f"kerazoo: run stopped: {error}",
                   err=True)
        sys.exit(1)
    except click.ClickException as error:
        click.echo(f"kerazoo: error: {' '.join(error.format_message().split())}", err=True)
        sys.exit(error.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt, Interrupted):
        click.echo("kerazoo: interrupted", err=True)
        sys.exit(130)
    except Exception as error:  # a full disk stops a run wherever it is met: one line
        line = _full_disk_line(error)
        if line is None:
            raise
        click.echo(f"kerazoo: run failed: {line}", err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
