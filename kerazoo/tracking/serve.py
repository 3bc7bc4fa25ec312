"""`kerazoo serve`: MLflow's own scoring server for a logged model, on 127.0.0.1.

MODEL is a run id, a `runs:/` or `models:/` URI, or a recipe name meaning the version its
runs registered as best (`models:/NAME@best`). Everything that can be wrong with it (an
unknown run, a model that is not there, a port in use) is found before the server starts.
Then this process becomes `mlflow models serve --env-manager local`: the current environment
serves, as it trained. MLflow starts the server's `uvicorn` by name, so the environment's
own bin folder goes first on PATH whatever the caller's PATH holds.
"""

from __future__ import annotations

import os
import re
import socket
import sys
from pathlib import Path
from typing import NoReturn

from kerazoo.errors import KerazooError
from kerazoo.tracking import runs as tracking

HOST = "127.0.0.1"
RUN_ID = re.compile(r"[0-9a-f]{32}")


def model_uri(model: str) -> str:
    """The model URI that MODEL names, checked to exist in the tracking store."""
    if model.startswith(("runs:/", "models:/")):
        uri = model
    elif RUN_ID.fullmatch(model):
        uri = tracking.run_model_uri(model)
    else:
        uri = f"models:/{model}@best"
        try:
            tracking.check_model_uri(uri)
        except KerazooError as error:
            raise KerazooError(f"{error}. MODEL is a run id, runs:/RUN_ID/NAME, "
                               "models:/NAME/VERSION or a recipe name whose runs registered "
                               f"a best version. Received: {model!r}") from None
        return uri
    tracking.check_model_uri(uri)
    return uri


def check_port_free(port: int) -> None:
    with socket.socket() as probe:
        try:
            probe.bind((HOST, port))
        except OSError as error:
            raise KerazooError(f"--port {port}: cannot listen on {HOST}:{port} "
                               f"({error.strerror}); choose a free port") from None


def command(uri: str, port: int) -> list[str]:
    return [sys.executable, "-m", "mlflow", "models", "serve", "-m", uri,
            "--env-manager", "local", "--host", HOST, "--port", str(port)]


def serve(model: str, port: int, tracking_uri: str | None = None) -> NoReturn:
    """Replace this process with MLflow's scoring server for MODEL."""
    check_port_free(port)
    # A download progress bar per artifact says nothing here, and would break one-line errors.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    store = tracking.tracking_uri(tracking_uri)
    tracking.prepare_store(store)
    uri = model_uri(model)
    bin_folder = str(Path(sys.executable).parent)
    environment = {**os.environ, "MLFLOW_TRACKING_URI": store,
                   "PATH": os.pathsep.join([bin_folder, os.environ.get("PATH", "")])}
    print(f"serving {uri} at http://{HOST}:{port}/invocations (Ctrl-C stops it)", flush=True)
    os.execve(sys.executable, command(uri, port), environment)
