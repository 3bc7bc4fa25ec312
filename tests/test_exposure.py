"""What kerazoo shows and touches beyond its runs: passwords in URIs are masked, a huge text
file is refused before it is read, a fresh store adds no lines of MLflow's to a mistake, and a
command that only reads creates nothing. Real `kerazoo` processes throughout."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kerazoo.tracking.uris import masked
from tests.test_cli import assert_one_line_error

KERAZOO = str(Path(sys.executable).parent / "kerazoo")
SECRET = "S3cr3tPassw0rd"


def kerazoo(*args: str, cwd: Path, env: dict[str, str] | None = None):
    """`kerazoo ARGS` in `cwd` with MLFLOW_TRACKING_URI as `env` says (unset if absent)."""
    environment = {key: value for key, value in os.environ.items()
                   if key != "MLFLOW_TRACKING_URI"}
    return subprocess.run([KERAZOO, *args], capture_output=True, text=True, timeout=300,
                          cwd=cwd, env={**environment, **(env or {})})


@pytest.mark.parametrize("text, shown", [
    (f"http://user:{SECRET}@127.0.0.1:5000", "http://user:***@127.0.0.1:5000"),
    (f"postgresql+psycopg2://user:{SECRET}@db:5432/optuna",
     "postgresql+psycopg2://user:***@db:5432/optuna"),
    (f"error at 'https://:{SECRET}@host/api' and http://a:{SECRET}@b",
     "error at 'https://:***@host/api' and http://a:***@b"),
    ("sqlite:///mlruns/mlflow.db", "sqlite:///mlruns/mlflow.db"),
    ("http://user@host:5000", "http://user@host:5000"),
])
def test_passwords_are_masked_anywhere_in_a_text(text, shown):
    assert masked(text) == shown


def test_a_password_in_the_tracking_uri_is_never_printed(tmp_path):
    uri = f"http://kerazoo:{SECRET}@127.0.0.1:9"  # port 9 (discard): nothing listens
    completed = kerazoo("run", "mlp_digits", "--smoke", cwd=tmp_path,
                        env={"MLFLOW_TRACKING_URI": uri})
    assert_one_line_error(completed, "cannot reach the MLflow tracking server at "
                                     "'http://kerazoo:***@127.0.0.1:9'")
    assert SECRET not in completed.stdout + completed.stderr
    # the sweep's storage URL likewise, in the message about it
    completed = kerazoo("sweep", "mlp_digits", "--smoke", "--param",
                        "model.dropout=uniform(0, 0.5)", "--storage",
                        f"postgresql://kerazoo:{SECRET}@127.0.0.1:9/studies", cwd=tmp_path,
                        env={"MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"})
    assert_one_line_error(completed, "postgresql://kerazoo:***@127.0.0.1:9/studies")
    assert SECRET not in completed.stdout + completed.stderr


def test_a_huge_text_file_is_refused_before_it_is_read(tmp_path):
    huge = tmp_path / "huge.txt"
    with huge.open("wb") as file:
        file.truncate(2**30)  # sparse: 1 GiB on paper, nothing written
    recipe = tmp_path / "text.yaml"
    recipe.write_text("experiment: e\nmodel: {name: char_rnn}\n"
                      "data: {name: text_file, path: huge.txt}\n")
    completed = kerazoo("run", str(recipe), "--smoke", cwd=tmp_path,
                        env={"MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"})
    assert_one_line_error(completed, "text file 'huge.txt' is 1073741824 bytes (1024.0 MiB)",
                          "--set data.max_bytes=N", "Received: data.max_bytes=67108864")


def test_a_mistake_on_a_fresh_store_is_one_line(tmp_path):
    completed = kerazoo("run", "mlp_digits", "--smoke", "--resume", "0123abcd", cwd=tmp_path,
                        env={"MLFLOW_TRACKING_URI": "sqlite:///mlruns/mlflow.db"})
    assert_one_line_error(completed, "no run '0123abcd'")
    assert (tmp_path / "mlruns" / "mlflow.db").exists()  # the store was new


def test_compare_in_an_empty_folder_creates_nothing(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    completed = kerazoo("compare", cwd=empty)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip().splitlines() == [
        "no runs yet (no tracking store at 'sqlite:///mlruns/mlflow.db'): try "
        "`kerazoo run mlp_digits`"]
    assert completed.stderr == ""
    assert_one_line_error(kerazoo("compare", "--plot", "val_loss", cwd=empty),
                          "no tracking store at 'sqlite:///mlruns/mlflow.db'")
    assert list(empty.iterdir()) == []


def test_the_text_size_limit_is_an_option(tmp_path):
    from kerazoo.data import load_data
    from kerazoo.errors import KerazooError

    notes = tmp_path / "notes.txt"
    notes.write_text("to be or not to be " * 20)
    with pytest.raises(KerazooError, match="is 380 bytes .* more than the 100 bytes allowed"):
        load_data("text_file", path=str(notes), window=10, max_bytes=100)
    with pytest.raises(KerazooError, match="`max_bytes` must be a positive integer"):
        load_data("text_file", path=str(notes), window=10, max_bytes=0)
    assert load_data("text_file", path=str(notes), window=10, block_windows=2,
                     max_bytes=380).train is not None


@pytest.mark.slow
def test_a_run_on_a_server_reached_with_a_password_never_prints_it(tmp_path):
    """`mlflow server` (SQLite backend, loopback) takes the URI's basic-auth header and
    ignores it; everything kerazoo and MLflow print must still hide the password."""
    import socket
    import threading
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "mlflow"), "server", "--host", "127.0.0.1",
         "--port", str(port), "--backend-store-uri", f"sqlite:///{tmp_path / 'server.db'}",
         "--artifacts-destination", str(tmp_path / "artifacts")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path)
    try:
        for _ in range(1200):  # bounded polling until the server answers
            assert server.poll() is None, "mlflow server exited"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                    break
            except OSError:
                threading.Event().wait(0.1)
        uri = f"http://kerazoo:{SECRET}@127.0.0.1:{port}"
        completed = kerazoo("run", "mlp_digits", "--smoke", "--set",
                            "train.learning_rate=0.5", cwd=tmp_path,
                            env={"MLFLOW_TRACKING_URI": uri})
        assert completed.returncode == 0, completed.stderr
        assert SECRET not in completed.stdout + completed.stderr
        assert_one_line_error(kerazoo("run", "mlp_digits", "--resume", "0123abcd", cwd=tmp_path,
                                      env={"MLFLOW_TRACKING_URI": uri}),
                              "kerazoo:***@127.0.0.1")
    finally:
        server.terminate()
        server.wait()
