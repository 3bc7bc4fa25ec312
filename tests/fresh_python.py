"""A Python process that has never imported kerazoo, loading logged models on request.

It stands for a user's notebook or MLflow's scoring server: it imports mlflow only, loads a
model with `mlflow.keras.load_model` and `mlflow.pyfunc.load_model`, predicts on the rows it
is given, and writes what it got to a file for the test to compare. One process serves a
whole test module, so the imports (seconds) are paid once, not once per recipe.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

# Reads one JSON request per line, answers one JSON line. Never imports kerazoo: kerazoo is
# installed (editable) in this environment, so the process itself must prove it did not.
WORKER = r"""
import json, os, sys
import mlflow
import numpy as np
import pandas as pd

for line in sys.stdin:
    request = json.loads(line)
    try:
        os.chdir(request["cwd"])
        mlflow.set_tracking_uri(request["tracking_uri"])
        with np.load(request["inputs"]) as arrays:
            inputs = {key: arrays[key] for key in arrays.files}
        inputs = inputs["x"] if list(inputs) == ["x"] else inputs
        model = mlflow.keras.load_model(request["uri"])
        answers = {"keras": np.asarray(model(inputs, training=False))}
        pyfunc = mlflow.pyfunc.load_model(request["uri"])
        predicted = pyfunc.predict(inputs)
        if isinstance(predicted, pd.DataFrame) and "label" in predicted:
            answers["labels"] = predicted["label"].to_numpy(dtype=str)
            answers["probabilities"] = np.array(
                [list(row.values()) for row in predicted["probabilities"]])
            answers["class_order"] = np.array(list(predicted["probabilities"][0]), dtype=str)
        else:
            answers["pyfunc"] = np.asarray(predicted)
        np.savez(request["answers"], **answers)
        kerazoo = sorted(name for name in sys.modules if name.split(".")[0] == "kerazoo")
        print(json.dumps({"kerazoo_modules": kerazoo,
                          "model_class": type(model).__module__ + "." + type(model).__name__}),
              flush=True)
    except Exception as error:
        print(json.dumps({"error": f"{type(error).__name__}: {error}"}), flush=True)
"""


class FreshPython:
    def __init__(self, directory: Path):
        self.directory = directory
        environment = {key: value for key, value in os.environ.items()
                       if key not in ("PYTHONPATH", "MLFLOW_TRACKING_URI")}
        environment["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"
        # In a folder of its own, so that no kerazoo/ folder is on its path by accident.
        self.process = subprocess.Popen(
            [sys.executable, "-c", WORKER], cwd=directory, env=environment, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.requests = 0

    def load_and_predict(self, uri: str, tracking_uri: str, cwd: Path,
                         inputs: dict[str, np.ndarray]) -> tuple[dict, dict[str, np.ndarray]]:
        """What the fresh process reports (`kerazoo_modules`, `model_class`) and its answers
        on `inputs` (keras; then labels and probabilities, or pyfunc)."""
        self.requests += 1
        inputs_file = self.directory / f"inputs_{self.requests}.npz"
        answers_file = self.directory / f"answers_{self.requests}.npz"
        np.savez(inputs_file, **inputs)
        request = {"uri": uri, "tracking_uri": tracking_uri, "cwd": str(cwd),
                   "inputs": str(inputs_file), "answers": str(answers_file)}
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        assert line, f"the fresh process exited with status {self.process.wait()}"
        report = json.loads(line)
        assert "error" not in report, report["error"]
        with np.load(answers_file) as answers:
            return report, {key: answers[key] for key in answers.files}

    def close(self) -> None:
        self.process.stdin.close()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
