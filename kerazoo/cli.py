"""The `kerazoo` command line.

User mistakes (a `KerazooError`, a bad option) print one line on stderr and exit with status 2,
never a traceback. Heavy imports (Keras, MLflow) happen inside the commands that need them.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile

import click

from kerazoo.errors import KerazooError

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Lines TensorFlow's C++ runtime prints on import whatever TF_CPP_MIN_LOG_LEVEL says
# (tensorflow/tensorflow#100442): absl's preamble, info/warning records, CPU feature notes.
BACKEND_CHATTER = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog|[IW]\d{4} |"
    r"To enable the following instructions|This TensorFlow binary is optimized)"
)


def import_keras_quietly() -> None:
    """Import Keras (and its backend) with that chatter filtered out of stderr.

    The chatter comes from C++ straight to file descriptor 2, so Python-level redirection
    cannot catch it; the descriptor is pointed at a temporary file for the import and
    everything that is not chatter is replayed.
    """
    if "keras" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import keras  # noqa: F401
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            for line in captured.read().decode(errors="replace").splitlines(keepends=True):
                if not BACKEND_CHATTER.match(line):
                    sys.stderr.write(line)


def _print_table(rows: list[dict], empty: str) -> None:
    import pandas as pd

    if not rows:
        click.echo(empty)
        return
    with pd.option_context("display.width", 200, "display.max_columns", None,
                           "display.max_colwidth", 60):
        click.echo(pd.DataFrame(rows).to_string(index=False))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="kerazoo")
def cli() -> None:
    """kerazoo: a Keras 3 model zoo with MLflow tracking."""


@cli.command("list")
@click.argument("pattern", default="*")
def list_models_command(pattern: str) -> None:
    """Registered models matching PATTERN (shell wildcards), with their size at defaults."""
    import_keras_quietly()
    import kerazoo

    rows = []
    for name in kerazoo.list_models(pattern):
        info = kerazoo.model_info(name)
        rows.append({"name": name, "task": info.task, "input": info.input_kind,
                     "family": info.family,
                     "parameters": f"{kerazoo.build(name).count_params():,}"})
    _print_table(rows, f"no model matches {pattern!r}")


@cli.command("recipes")
def recipes_command() -> None:
    """Recipes that `kerazoo run NAME` finds."""
    from kerazoo.recipe import available_recipes, read_yaml

    rows = []
    for name, path in available_recipes().items():
        data = read_yaml(path)
        rows.append({"recipe": name, "model": (data.get("model") or {}).get("name", ""),
                     "data": (data.get("data") or {}).get("name", ""),
                     "experiment": data.get("experiment", ""),
                     "description": str(data.get("description", "")).strip()[:60]})
    _print_table(rows, "no recipes found")


@cli.command("run")
@click.argument("recipe")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a recipe value, e.g. --set train.epochs=3 (repeatable).")
@click.option("--smoke", is_flag=True, help="1 epoch on small subsets: checks it works.")
@click.option("--tracking-uri", default=None,
              help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI or mlruns/mlflow.db).")
@click.option("--quiet", is_flag=True, help="No per-epoch progress lines.")
def run_command(recipe: str, overrides: tuple[str, ...], smoke: bool,
                tracking_uri: str | None, quiet: bool) -> None:
    """Train RECIPE (a name from `kerazoo recipes` or a .yaml path) and log it to MLflow."""
    import_keras_quietly()
    from kerazoo.recipe import load_recipe
    from kerazoo.runner import run_recipe

    loaded = load_recipe(recipe, overrides, smoke=smoke)
    result = run_recipe(loaded, smoke=smoke, tracking_uri=tracking_uri,
                        verbose=0 if quiet else 2)
    metrics = ", ".join(f"{name}={value:.4f}" for name, value in result.metrics.items())
    click.echo(f"run {result.run_id} ({loaded.name}) finished: {metrics}")


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
    from kerazoo.recipe import load_recipe
    from kerazoo.runner import prepare

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
@click.option("--tracking-uri", default=None)
def compare_command(experiments: tuple[str, ...], sort: str | None, filter_string: str,
                    max_runs: int, plot_metric: str | None, tracking_uri: str | None) -> None:
    """Runs side by side: recipe, the params that differ, final metrics, duration."""
    import_keras_quietly()
    from kerazoo import compare, tracking

    tracking.prepare_store(tracking.tracking_uri(tracking_uri))
    table = compare.runs_table(list(experiments), sort, filter_string, max_runs)
    _print_table(table.to_dict("records"), "no runs yet: try `kerazoo run mlp_digits`")
    if plot_metric:
        path = compare.plot_metric(plot_metric, list(experiments), filter_string, max_runs)
        click.echo(f"wrote {path}")


def main(argv: list[str] | None = None) -> None:
    """Console entry point: one-line errors and exit status 2 for user mistakes."""
    try:
        code = cli.main(args=argv, prog_name="kerazoo", standalone_mode=False)
    except KerazooError as error:
        click.echo(f"kerazoo: error: {' '.join(str(error).split())}", err=True)
        sys.exit(2)
    except click.ClickException as error:
        click.echo(f"kerazoo: error: {' '.join(error.format_message().split())}", err=True)
        sys.exit(error.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("kerazoo: interrupted", err=True)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
