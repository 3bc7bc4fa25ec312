"""Every registered model, tested without anyone listing it here (parametrized over the
registry): tiny build, forward pass, learning, config and `.keras` round trips.

Runs on every backend: `KERAS_BACKEND=jax pytest tests/test_models.py` (`make test-jax`).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

import kerazoo

SAMPLES = 16
SEQUENCE_LENGTH = 6  # stands in for unknown (None) time axes


def tiny_model(name: str) -> keras.Model:
    keras.utils.set_random_seed(0)
    return kerazoo.build(name, **kerazoo.model_info(name).tiny)


def sample_inputs(model: keras.Model, rng: np.random.Generator):
    """Inputs that fit the model's input specs; token inputs get ids 0 and 1 (always valid)."""
    arrays = []
    for tensor in model.inputs:
        shape = [SAMPLES] + [SEQUENCE_LENGTH if size is None else size
                             for size in tensor.shape[1:]]
        if "int" in str(tensor.dtype):
            arrays.append(rng.integers(0, 2, size=shape).astype(tensor.dtype))
        else:
            arrays.append(rng.random(shape).astype("float32"))
    return arrays[0] if len(arrays) == 1 else tuple(arrays)


def learnable_targets(name: str, model: keras.Model, x, rng: np.random.Generator):
    """Targets a model can fit on 16 fixed samples (memorization is learnable)."""
    task = kerazoo.model_info(name).task
    outputs = keras.tree.map_structure(keras.ops.convert_to_numpy, model(x))
    shape = outputs.shape
    if task in ("classification", "language_model", "sequence_to_sequence"):
        return rng.integers(0, shape[-1], size=shape[:-1]).astype("int32")
    if task == "binary_classification":
        return rng.integers(0, 2, size=shape).astype("float32")
    if task == "reconstruction":
        return x
    return rng.normal(size=shape).astype("float32")


@pytest.fixture(params=kerazoo.list_models())
def name(request) -> str:
    return request.param


def test_builds_with_defaults_alone(name):
    assert isinstance(kerazoo.build(name), keras.Model)


def test_forward_pass_has_the_declared_shape_and_no_nan(name):
    model = tiny_model(name)
    x = sample_inputs(model, np.random.default_rng(0))
    y = keras.ops.convert_to_numpy(model(x, training=False))
    assert y.shape == (SAMPLES, *[SEQUENCE_LENGTH if s is None else s
                                  for s in model.output_shape[1:]])
    assert np.isfinite(y).all()


def test_a_few_fit_steps_lower_the_loss(name):
    model = tiny_model(name)
    rng = np.random.default_rng(1)
    x = sample_inputs(model, rng)
    y = learnable_targets(name, model, x, rng)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss=kerazoo.model_info(name).loss)
    history = model.fit(x, y, batch_size=SAMPLES, epochs=30, verbose=0, shuffle=False)
    losses = history.history["loss"]
    assert np.isfinite(losses).all()
    assert losses[-1] < 0.9 * losses[0]


def test_config_round_trip(name):
    model = tiny_model(name)
    clone = model.__class__.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    x = sample_inputs(model, np.random.default_rng(2))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(clone(x, training=False)),
                               keras.ops.convert_to_numpy(model(x, training=False)),
                               rtol=1e-5, atol=1e-6)


@pytest.fixture(scope="session")
def reloaded_in_fresh_process(tmp_path_factory):
    """Save every tiny model as .keras, reload all with safe_mode=True in one new process."""
    directory = tmp_path_factory.mktemp("saved")
    for model_name in kerazoo.list_models():
        model = tiny_model(model_name)
        x = sample_inputs(model, np.random.default_rng(3))
        model.save(directory / f"{model_name}.keras")
        np.savez(directory / f"{model_name}.npz", *(x if isinstance(x, tuple) else (x,)))
        np.save(directory / f"{model_name}.expected.npy",
                keras.ops.convert_to_numpy(model(x, training=False)))
    script = textwrap.dedent(f"""
        import json, pathlib, numpy as np, keras
        import kerazoo.models  # registers kerazoo's serializable layers
        directory = pathlib.Path({str(directory)!r})
        results = {{}}
        for path in sorted(directory.glob("*.keras")):
            model = keras.saving.load_model(path, safe_mode=True)
            arrays = np.load(path.with_suffix(".npz"))
            x = [arrays[key] for key in sorted(arrays.files, key=lambda k: int(k.split("_")[1]))]
            y = model(x[0] if len(x) == 1 else tuple(x), training=False)
            np.save(directory / f"{{path.stem}}.reloaded.npy", keras.ops.convert_to_numpy(y))
            results[path.stem] = True
        print(json.dumps(results))
    """)
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                               timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return directory, json.loads(completed.stdout.strip().splitlines()[-1])


def test_keras_file_reloads_identically_in_a_fresh_process(name, reloaded_in_fresh_process):
    directory, results = reloaded_in_fresh_process
    assert results.get(name)
    np.testing.assert_array_equal(np.load(directory / f"{name}.reloaded.npy"),
                                  np.load(directory / f"{name}.expected.npy"))
