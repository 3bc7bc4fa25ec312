"""Every kerazoo module imports on its own, first, in a fresh interpreter: an import cycle only
shows when the module inside it is imported before the others."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
import textwrap

import pytest

import kerazoo


def test_every_module_imports_first():
    names = sorted(module.name for module in pkgutil.walk_packages(kerazoo.__path__, "kerazoo."))
    assert "kerazoo.layers" in names and "kerazoo.training.runner" in names
    # Keras stays loaded (it is the slow part); kerazoo is forgotten before each import.
    script = textwrap.dedent(f"""
        import importlib, json, sys, traceback
        import keras
        failures = {{}}
        for name in {names!r}:
            for loaded in [m for m in sys.modules if m == "kerazoo" or m.startswith("kerazoo.")]:
                del sys.modules[loaded]
            try:
                importlib.import_module(name)
            except Exception:
                failures[name] = traceback.format_exc(limit=3)
        print(json.dumps(failures))
    """)
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                               timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert json.loads(completed.stdout.strip().splitlines()[-1]) == {}


def fresh_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=300)


def test_the_cli_shows_help_recipes_and_models_without_tensorflow():
    completed = fresh_python("""
        import sys
        from kerazoo.cli import cli
        for args in (["--help"], ["recipes"], ["list", "alexnet*"]):
            try:
                cli(args, standalone_mode=False)
            except SystemExit:
                pass
        print(sorted(m for m in ("keras", "tensorflow", "jax") if m in sys.modules))
    """)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "mlp_digits" in completed.stdout
    # `kerazoo list` (from the stored catalog) says which alexnet is the paper's.
    assert "62,378,344" in completed.stdout and "CPU-sized" in completed.stdout
    assert completed.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("imports", [
    "import kerazoo, keras",
    "import keras, kerazoo",
    "from kerazoo.data import load_data; import keras",  # a kerazoo module imports Keras
])
def test_import_kerazoo_alone_registers_its_serializables(tmp_path, imports):
    """Whether Keras is imported before kerazoo, after it or by it, importing kerazoo is
    enough to load a model with kerazoo's layers and regularizer in safe mode."""
    saved = tmp_path / "model.keras"
    build = fresh_python(f"""
        import keras, kerazoo
        model = kerazoo.build("mlp", units=[4], schedulable=True, l2=0.1)
        keras.Sequential([keras.Input((64,)), model]).save({str(saved)!r})
        alex = kerazoo.build("alexnet_cifar", width_multiplier=0.0625, input_shape=(16, 16, 3))
        alex.save({str(tmp_path / "alex.keras")!r})
    """)
    assert build.returncode == 0, build.stderr[-3000:]
    load = fresh_python(f"""
        {imports}
        for name in ("model", "alex"):
            keras.saving.load_model({str(tmp_path)!r} + f"/{{name}}.keras", safe_mode=True)
        print("loaded")
    """)
    assert load.returncode == 0, load.stderr[-3000:]
    assert "loaded" in load.stdout
