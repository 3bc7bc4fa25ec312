"""Every test gets its own real MLflow SQLite store under tmp_path; the user's mlruns/ is
never touched. The store's schema is created once per session and copied, because MLflow's
migrations take over a second each time."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Logging failures are warnings for users; in tests they must fail loudly.
os.environ["KERAZOO_STRICT_TRACKING"] = "1"
os.environ.pop("MLFLOW_TRACKING_URI", None)

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def template_store(tmp_path_factory) -> Path:
    import mlflow

    path = tmp_path_factory.mktemp("template") / "mlflow.db"
    mlflow.MlflowClient(f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture(autouse=True)
def tracking_uri(tmp_path, template_store, monkeypatch) -> str:
    """A fresh store per test, in a working directory of its own (artifacts land there)."""
    (tmp_path / "mlruns").mkdir()
    shutil.copy(template_store, tmp_path / "mlruns" / "mlflow.db")
    uri = f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.chdir(tmp_path)
    import mlflow

    mlflow.set_tracking_uri(uri)  # an earlier test in this process may have set another
    return uri


@pytest.fixture
def client(tracking_uri):
    import mlflow

    return mlflow.MlflowClient(tracking_uri)


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 300):
    """Run the real `kerazoo` console script in a subprocess."""
    import subprocess

    return subprocess.run([str(Path(sys.executable).parent / "kerazoo"), *args],
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})
