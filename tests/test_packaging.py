"""kerazoo installed like any package: its recipes are package data, found through
importlib.resources, and the built wheel carries them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from importlib import resources
from pathlib import Path

import pytest

from kerazoo.config.recipe import available_recipes, find_recipe
from tests.conftest import REPO


def test_every_recipe_name_resolves_inside_the_package(tmp_path):
    packaged = resources.files("kerazoo") / "recipes"
    names = sorted(entry.name.removesuffix(".yaml") for entry in packaged.iterdir()
                   if entry.name.endswith(".yaml"))
    assert "mlp_digits" in names
    # tmp_path is the working directory (see conftest): no ./recipes shadows the package's.
    assert sorted(available_recipes()) == names
    for name in names:
        assert find_recipe(name).read_bytes() == (packaged / f"{name}.yaml").read_bytes()


def test_a_users_own_recipe_folder_still_works(tmp_path, monkeypatch):
    own = tmp_path / "mine"
    own.mkdir()
    (own / "mlp_digits.yaml").write_text("model: {name: mlp}\n")
    (own / "my_recipe.yaml").write_text("model: {name: mlp}\n")
    monkeypatch.setenv("KERAZOO_RECIPES", str(own))
    assert find_recipe("my_recipe") == own / "my_recipe.yaml"
    assert find_recipe("mlp_digits") == own / "mlp_digits.yaml"  # the user's copy wins
    assert "dae_digits" in available_recipes()


@pytest.mark.slow
def test_the_wheel_installs_and_runs_from_an_empty_folder(tmp_path):
    """Build the wheel, install it with its dependencies into a fresh venv (pip's cache makes
    that about a minute on an idle machine), then list and train from an empty folder."""
    python = Path(sys.executable)
    # Built from a copy: setuptools leaves build/ and *.egg-info beside the sources, and an
    # egg-info on PYTHONPATH would make pip think kerazoo is already installed.
    source = tmp_path / "source"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "mlruns", "build", "*.egg-info", "__pycache__", ".*_cache"))
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONPATH", "MLFLOW_TRACKING_URI", "KERAZOO_RECIPES")}
    subprocess.run([python, "-m", "pip", "wheel", "--no-deps", "-w", tmp_path / "dist", source],
                   check=True, capture_output=True, env=env)
    (wheel,) = (tmp_path / "dist").glob("kerazoo-*.whl")
    shipped = zipfile.ZipFile(wheel).namelist()
    assert "kerazoo/recipes/mlp_digits.yaml" in shipped
    subprocess.run([python, "-m", "venv", tmp_path / "venv"], check=True)
    bin_dir = tmp_path / "venv" / "bin"
    subprocess.run([bin_dir / "pip", "install", "--quiet", "--disable-pip-version-check",
                    wheel], check=True, capture_output=True, env=env)
    empty = tmp_path / "empty"
    empty.mkdir()
    listed = subprocess.run([bin_dir / "kerazoo", "recipes"], cwd=empty, env=env,
                            capture_output=True, text=True)
    assert listed.returncode == 0, listed.stderr
    expected = sorted(name for name in shipped if name.startswith("kerazoo/recipes/"))
    assert len(expected) > 10
    for name in expected:
        assert Path(name).stem in listed.stdout
    trained = subprocess.run([bin_dir / "kerazoo", "run", "mlp_digits", "--smoke", "--quiet"],
                             cwd=empty, env=env, capture_output=True, text=True)
    assert trained.returncode == 0, trained.stderr[-3000:]
    assert "finished: test_accuracy=" in trained.stdout
    assert (empty / "mlruns" / "mlflow.db").is_file()
