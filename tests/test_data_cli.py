"""`kerazoo run --download` and the absent-dataset error, through the real console script."""

from __future__ import annotations

import mlflow

from tests.conftest import run_cli
from tests.test_cli import assert_one_line_error
from tests.test_data_files import write_mnist_npz

RECIPE = """\
experiment: classic
model: {name: mlp, units: [8]}
data: {name: mnist}
train: {epochs: 1, batch_size: 16}
"""


def test_absent_dataset_says_how_to_get_it_and_download_uses_the_local_copy(tmp_path):
    home = tmp_path / "home"
    (home / ".keras" / "datasets").mkdir(parents=True)
    (tmp_path / "mnist_mlp.yaml").write_text(RECIPE)
    environment = {"HOME": str(home)}

    absent = run_cli("run", str(tmp_path / "mnist_mlp.yaml"), "--quiet", env=environment)
    assert_one_line_error(absent, "MNIST not found locally", "--download",
                          str(home / ".keras" / "datasets" / "mnist.npz"))

    # Present in the Keras cache: `--download` finds it there and fetches nothing.
    write_mnist_npz(home / ".keras" / "datasets" / "mnist.npz")
    completed = run_cli("run", str(tmp_path / "mnist_mlp.yaml"), "--quiet", "--download",
                        env=environment)
    assert completed.returncode == 0, completed.stderr
    (run,) = mlflow.search_runs(experiment_names=["classic"], output_format="list")
    assert run.data.params["data.download"] == "True"
    assert run.data.params["data_fingerprint.source"] == str(
        home / ".keras" / "datasets" / "mnist.npz")
    assert run.data.params["data_fingerprint.test_size"] == "20"


def test_download_is_moot_for_embedded_data():
    completed = run_cli("run", "mlp_digits", "--smoke", "--quiet", "--download")
    assert completed.returncode == 0, completed.stderr
    (run,) = mlflow.search_runs(experiment_names=["digits-smoke"], output_format="list")
    assert "data.download" not in run.data.params
