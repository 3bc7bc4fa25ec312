"""The `kerazoo` command: real subprocesses for exit codes and stderr, a real store."""

from __future__ import annotations

import mlflow
import pytest

from tests.conftest import run_cli


def assert_one_line_error(completed, *fragments: str) -> None:
    assert completed.returncode == 2, completed.stderr
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1, completed.stderr
    assert lines[0].startswith("kerazoo: error: ")
    assert "Traceback" not in completed.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_run_then_compare(tracking_uri, tmp_path):
    completed = run_cli("run", "mlp_digits", "--smoke", "--quiet")
    assert completed.returncode == 0, completed.stderr
    assert "finished: test_accuracy=" in completed.stdout
    (run,) = mlflow.search_runs(experiment_names=["digits-smoke"], output_format="list")
    assert run.info.status == "FINISHED"

    compared = run_cli("compare", "--experiment", "digits-smoke", "--sort", "test_accuracy",
                       "--plot", "val_loss")
    assert compared.returncode == 0, compared.stderr
    assert "mlp_digits" in compared.stdout and "test_accuracy" in compared.stdout
    assert (tmp_path / "compare_val_loss.png").stat().st_size > 1000
    chosen = tmp_path / "figures" / "loss.png"
    compared = run_cli("compare", "--plot", "val_loss", "--output", str(chosen))
    assert compared.returncode == 0, compared.stderr
    assert compared.stdout.strip().splitlines()[-1] == f"wrote {chosen}"
    assert chosen.stat().st_size > 1000


@pytest.mark.parametrize("args, fragments", [
    (["run", "mlp_digit"], ["unknown recipe 'mlp_digit'", "did you mean 'mlp_digits'"]),
    (["run", "mlp_digits", "--set", "model.dropout=1.5"], ["dropout=1.5", "[0, 1)"]),
    (["run", "mlp_digits", "--set", "train.epochs"], ["--set takes KEY=VALUE"]),
    (["run", "mlp_digits", "--bogus"], ["No such option"]),
    (["compare", "--experiment", "nope"], ["unknown experiment 'nope'"]),
])
def test_user_mistakes_exit_2_with_one_line(args, fragments):
    assert_one_line_error(run_cli(*args), *fragments)


def test_list_and_recipes():
    listed = run_cli("list", "ml*")
    assert listed.returncode == 0, listed.stderr
    assert "mlp" in listed.stdout and "classification" in listed.stdout
    recipes = run_cli("recipes")
    assert recipes.returncode == 0 and "mlp_digits" in recipes.stdout
