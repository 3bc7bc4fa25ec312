"""MLflow's model registry as the zoo's presets: each recipe's best run, loadable by name.

A finished, non-smoke `kerazoo run` registers its logged model under the recipe's name, with a
model card (the version's description and tags). The alias `best` points at the version whose
run has the best value of the recipe's quality metric, and moves only when a newer run beats
it, so `kerazoo.load("mlp_digits")` is what keras-hub's `from_preset` is to its users, made
from the user's own runs. Everything here is MLflow's registry API; nothing is kept beside it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import mlflow
from mlflow.exceptions import MlflowException

from kerazoo.errors import KerazooError
from kerazoo.tracking import runs as tracking

ALIAS = "best"
URI_SCHEMES = ("models:/", "runs:/")


@dataclass(frozen=True)
class Quality:
    """The metric that ranks a recipe's versions (kerazoo.config.recipe.Quality's fields)."""

    metric: str
    floor: float
    mode: str  # "max" or "min"

    def beats(self, value: float | None, best: float | None) -> bool:
        if value is None or math.isnan(value):
            return False
        if best is None or math.isnan(best):
            return True
        return value > best if self.mode == "max" else value < best


@dataclass(frozen=True)
class Registered:
    name: str
    version: str
    best_version: str  # where the alias points after this registration


def register(name: str, model_uri: str, run_id: str, quality: Quality | None,
             description: str, tags: dict[str, str]) -> Registered:
    """Register `model_uri` (a ModelInfo's) as a new version of `name`, with `description`
    and `tags` as its model card, and move `best` when this run's quality beats the one it
    points at. Without a quality metric, `best` follows the newest version."""
    client = mlflow.MlflowClient()
    version = mlflow.register_model(model_uri, name, tags=tags)
    client.update_model_version(name, version.version, description=description)
    best = _best_version(client, name)
    if best is None or quality is None or quality.beats(
            _run_metric(client, run_id, quality.metric),
            _run_metric(client, best.run_id, quality.metric)):
        client.set_registered_model_alias(name, ALIAS, version.version)
        return Registered(name, str(version.version), str(version.version))
    return Registered(name, str(version.version), str(best.version))


def _best_version(client: mlflow.MlflowClient, name: str):
    try:
        return client.get_model_version_by_alias(name, ALIAS)
    except MlflowException:  # no alias yet (the first version)
        return None


def _run_metric(client: mlflow.MlflowClient, run_id: str | None, key: str) -> float | None:
    if not run_id:
        return None
    try:
        return client.get_run(run_id).data.metrics.get(key)
    except MlflowException:  # the run was deleted since
        return None


def model_uri(name_or_uri: str) -> str:
    """A `models:/` or `runs:/` URI as given; a registered name means its `best` version."""
    if name_or_uri.startswith(URI_SCHEMES):
        return name_or_uri
    names = registered_names()
    if name_or_uri not in names:
        raise KerazooError(f"no registered model {name_or_uri!r} in the tracking store "
                           f"{tracking.tracking_uri()!r}; registered: "
                           f"{', '.join(names) or 'none yet (a finished `kerazoo run` adds one)'}"
                           "; or give a models:/ or runs:/ URI")
    return f"models:/{name_or_uri}@{ALIAS}"


def load(name_or_uri: str):
    """The trained `keras.Model` of a recipe's best registered version (`load("mlp_digits")`),
    or of any `models:/` or `runs:/` URI."""
    import kerazoo.models  # noqa: F401  (registers kerazoo's layers before Keras deserializes)

    uri = model_uri(name_or_uri) if _store_exists() else _no_store(name_or_uri)
    try:
        return mlflow.keras.load_model(uri)
    except MlflowException as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise KerazooError(f"cannot load {name_or_uri!r} ({uri}): {message}") from None


def registered_names() -> list[str]:
    client = mlflow.MlflowClient()
    return sorted(model.name for model in client.search_registered_models(max_results=1000))


def best_versions(uri: str | None = None) -> list[dict[str, Any]]:
    """One row per registered model: its best version, that version's quality metric (the
    version's `kerazoo.quality_metric` tag) with its value, and its run."""
    if not _store_exists(uri):
        return []
    client = mlflow.MlflowClient()
    rows = []
    for model in sorted(client.search_registered_models(max_results=1000),
                        key=lambda model: model.name):
        best = _best_version(client, model.name)
        if best is None:
            rows.append({"model": model.name, "best": "", "metric": "", "value": "",
                         "run": "", "versions": ""})
            continue
        metric = best.tags.get("kerazoo.quality_metric", "")
        value = _run_metric(client, best.run_id, metric) if metric else None
        rows.append({"model": model.name, "best": f"version {best.version}",
                     "metric": metric, "value": "" if value is None else f"{value:.4f}",
                     "run": best.run_id or "",
                     "versions": len(client.search_model_versions(f"name='{model.name}'"))})
    return rows


def _store_exists(uri: str | None = None) -> bool:
    """Reading must not create a SQLite store where there is none; another store (a server)
    is checked to answer."""
    uri = tracking.tracking_uri(uri)
    path = tracking.sqlite_path(uri)
    if path is not None and not path.exists():
        return False
    tracking.prepare_store(uri)
    return True


def _no_store(name_or_uri: str) -> str:
    raise KerazooError(f"cannot load {name_or_uri!r}: no tracking store at "
                       f"{tracking.tracking_uri()!r} (run `kerazoo run RECIPE` first, or set "
                       "MLFLOW_TRACKING_URI)")
