"""Every kerazoo module imports on its own, first, in a fresh interpreter: an import cycle only
shows when the module inside it is imported before the others."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
import textwrap

import kerazoo


def test_every_module_imports_first():
    names = sorted(module.name for module in pkgutil.walk_packages(kerazoo.__path__, "kerazoo."))
    assert "kerazoo.layers" in names and "kerazoo.runner" in names
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
