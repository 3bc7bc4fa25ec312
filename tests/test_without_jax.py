"""Commands that need JAX, where JAX cannot be imported: one line with the install command,
exit status 2, before any worker starts. A `jax` package that raises ImportError, first on
PYTHONPATH, stands in for a missing install (a fixture of the environment; Keras runs on
TensorFlow as usual)."""

from __future__ import annotations

import os

import pytest

from tests.conftest import run_cli


@pytest.fixture
def no_jax(tmp_path) -> dict[str, str]:
    stub = tmp_path / "without_jax" / "jax"
    stub.mkdir(parents=True)
    (stub / "__init__.py").write_text("raise ImportError('No module named jax')\n")
    path = os.pathsep.join(filter(None, [str(stub.parent), os.environ.get("PYTHONPATH")]))
    return {"PYTHONPATH": path, "KERAS_BACKEND": "tensorflow"}


@pytest.mark.parametrize("args", [
    ["launch", "mlp_digits", "--processes", "2", "--smoke"],
    ["run", "mlp_digits", "--smoke", "--distribute", "data_parallel"],
])
def test_jax_commands_say_how_to_install_it(no_jax, args, client):
    completed = run_cli(*args, env=no_jax)
    assert completed.returncode == 2, completed.stdout + completed.stderr
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in completed.stderr, completed.stderr
    assert "needs JAX" in lines[0] and "pip install 'kerazoo[jax]'" in lines[0]
    assert "[rank" not in completed.stdout  # no worker started
    assert all(run.info.status != "RUNNING" for run in client.search_runs(
        [e.experiment_id for e in client.search_experiments()]))
