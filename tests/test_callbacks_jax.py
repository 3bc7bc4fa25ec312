"""The callback tests again on the JAX backend, whose compiled step reads only the model's
state (see kerazoo/callbacks/fit_state.py): a subprocess, since a process has one backend."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import keras
import pytest

from tests.conftest import REPO

MODULES = ["tests/test_callbacks_lr.py", "tests/test_callbacks_regularization.py",
           "tests/test_callbacks_noise_swa.py", "tests/test_callbacks_lr_finder.py"]


@pytest.mark.skipif(keras.backend.backend() == "jax", reason="this process already runs JAX")
@pytest.mark.skipif(importlib.util.find_spec("jax") is None,
                    reason="JAX is not installed (pip install -e '.[jax]')")
def test_callbacks_on_jax():
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *MODULES],
        cwd=REPO, capture_output=True, text=True, timeout=600,
        env={**os.environ, "KERAS_BACKEND": "jax"})
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-2000:]
