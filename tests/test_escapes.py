"""Nothing leaves without being asked (issue 19): no telemetry from MLflow in kerazoo's
processes, and where the artifacts of a copied store go (documented in the README)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import mlflow

# Variables MLflow takes as "in CI or tests" (mlflow/telemetry/utils.py), which disable its
# telemetry by themselves; a user's shell has none of them, so the child gets none either.
CI_MARKERS = ("PYTEST_CURRENT_TEST", "GITHUB_ACTIONS", "CI", "CIRCLECI", "GITLAB_CI",
              "JENKINS_URL", "TRAVIS", "TF_BUILD", "BITBUCKET_BUILD_NUMBER",
              "CODEBUILD_BUILD_ARN", "BUILDKITE", "TEAMCITY_VERSION", "CLOUD_RUN_EXECUTION",
              "RUNBOT_HOST_URL", "RUNBOT_BUILD_NAME", "RUNBOT_WORKER_ID", "DO_NOT_TRACK",
              "MLFLOW_DISABLE_TELEMETRY")
CHILD = """
import os
import kerazoo.tracking.runs  # what every kerazoo command that tracks imports
from mlflow.telemetry import get_telemetry_client
from mlflow.telemetry.utils import is_telemetry_disabled
print(os.environ["MLFLOW_DISABLE_TELEMETRY"], get_telemetry_client())
# Nothing else in this environment disables it: the switch alone does, and turns it back on.
os.environ["MLFLOW_DISABLE_TELEMETRY"] = "false"
print(is_telemetry_disabled())
"""


def test_mlflow_telemetry_is_off_in_kerazoo_processes_unless_turned_on():
    environment = {key: value for key, value in os.environ.items() if key not in CI_MARKERS}
    result = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True,
                            env=environment, timeout=300, check=True)
    assert result.stdout.split() == ["true", "None", "False"], result.stderr


def test_experiment_artifact_location_is_absolute_inside_the_store_folder(tracking_uri):
    """MLflow resolves an experiment's artifact location to an absolute path when it creates
    the experiment, so a copied store still points at the original folder (the README says
    so where it discusses copying a store)."""
    from kerazoo.tracking import runs as tracking

    tracking.prepare_store(tracking_uri)
    experiment = mlflow.MlflowClient(tracking_uri).get_experiment(tracking.experiment_id("e"))
    location = Path(experiment.artifact_location.removeprefix("file://"))
    assert location.is_absolute() and location.parent == Path.cwd() / "mlruns", location
