"""Every registered model, tested without anyone listing it here (parametrized over the
registry): argument checks, tiny build, forward pass, learning, config and `.keras` round
trips; plus zoo builders used as sub-models of plain Keras code with a custom training step.

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
from kerazoo import catalog
from kerazoo.registry import model_registry

SAMPLES = 16
SEQUENCE_LENGTH = 6  # stands in for unknown (None) time axes


def tiny_model(name: str) -> keras.Model:
    keras.utils.set_random_seed(0)
    return kerazoo.build(name, **kerazoo.model_info(name).tiny)


def token_count(model: keras.Model) -> int:
    """How many ids every embedding of the model accepts (2 when it has none: 0 and 1)."""
    sizes = [layer.input_dim for layer in model._flatten_layers()
             if isinstance(layer, keras.layers.Embedding)]
    return min(sizes, default=2)


def sample_inputs(name: str, model: keras.Model, rng: np.random.Generator):
    """Inputs that fit the model's input specs.

    Token ids are drawn from the whole vocabulary, padding (0) included: with ids 0 and 1
    alone, a classifier that masks padding would see nothing but the number of ones.
    Numbers are standard normal, like standardized features: uniform noise looks nearly the
    same to every image after three max-poolings, so a CNN could not tell samples apart.
    Autoencoders get mixtures of two fixed patterns in [0, 1] (their default output is a
    sigmoid): structure a small code can hold, where white noise has none to learn.
    """
    task = kerazoo.model_info(name).task
    arrays = []
    for tensor in model.inputs:
        shape = [SAMPLES] + [SEQUENCE_LENGTH if size is None else size
                             for size in tensor.shape[1:]]
        if "int" in str(tensor.dtype):
            arrays.append(rng.integers(0, token_count(model), size=shape).astype(tensor.dtype))
        elif task == "reconstruction":
            patterns = rng.random((2, *shape[1:]))
            weights = rng.random((SAMPLES, 2)) / 2
            arrays.append(np.tensordot(weights, patterns, axes=1).astype("float32"))
        else:
            arrays.append(rng.normal(size=shape).astype("float32"))
    return arrays[0] if len(arrays) == 1 else tuple(arrays)


def learnable_targets(name: str, model: keras.Model, x, rng: np.random.Generator):
    """Targets a model can fit on 16 fixed samples within 30 steps.

    Mostly memorization of random targets. A language model only sees the prefix, and the
    first steps of 16 random sequences share prefixes, so its toy language is instead "each
    id is followed by the next id" (learnable from the current character alone).
    """
    task = kerazoo.model_info(name).task
    outputs = keras.tree.map_structure(keras.ops.convert_to_numpy, model(x))
    shape = outputs.shape
    if task == "language_model":
        return ((x + 1) % shape[-1]).astype("int32")
    if task in ("classification", "sequence_to_sequence"):
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
    model = kerazoo.build(name)
    assert isinstance(model, keras.Model)
    # The stored catalog `kerazoo list` prints (it builds nothing) matches the builder.
    assert catalog.stored().get(name) == catalog.row(name, model), (
        "kerazoo/catalog.json is out of date: rewrite it with `python -m kerazoo.catalog`")


def a_wrong_value(default):
    """A value no builder accepts in place of `default`: the wrong sign, or a made-up name."""
    if isinstance(default, bool):
        return "yes"
    if isinstance(default, int | float):
        return -3 if isinstance(default, int) else -0.5
    if isinstance(default, str):
        return "no_such_choice"
    if isinstance(default, tuple | list):
        return [-3]
    return None


def test_every_argument_is_checked_and_the_error_names_it(name):
    """A negative size, an unknown name or a non-boolean flag raises KerazooError (a
    ValueError) whose message names the argument and echoes the value received."""
    for argument, default in model_registry.get(name).defaults().items():
        wrong = a_wrong_value(default)
        if wrong is None:
            continue
        with pytest.raises(kerazoo.KerazooError) as caught:
            kerazoo.build(name, **{argument: wrong})
        message = str(caught.value)
        assert f"`{argument}`" in message and f"Received: {argument}={wrong!r}" in message, (
            argument, message)
        assert "\n" not in message


def test_forward_pass_has_the_declared_shape_and_no_nan(name):
    model = tiny_model(name)
    x = sample_inputs(name, model, np.random.default_rng(0))
    y = keras.ops.convert_to_numpy(model(x, training=False))
    assert y.shape == (SAMPLES, *[SEQUENCE_LENGTH if s is None else s
                                  for s in model.output_shape[1:]])
    assert np.isfinite(y).all()


def test_a_few_fit_steps_lower_the_loss(name):
    model = tiny_model(name)
    rng = np.random.default_rng(1)
    x = sample_inputs(name, model, rng)
    y = learnable_targets(name, model, x, rng)
    # Clipping keeps the fast rate stable whatever the kernels: without it tiny AlexNet
    # diverges under TensorFlow's deterministic ops, which an earlier test may have enabled.
    model.compile(optimizer=keras.optimizers.Adam(1e-2, clipnorm=1.0),
                  loss=kerazoo.model_info(name).loss)
    history = model.fit(x, y, batch_size=SAMPLES, epochs=30, verbose=0, shuffle=False)
    losses = history.history["loss"]
    assert np.isfinite(losses).all()
    assert losses[-1] < 0.9 * losses[0]


def test_config_round_trip(name):
    model = tiny_model(name)
    clone = model.__class__.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    x = sample_inputs(name, model, np.random.default_rng(2))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(clone(x, training=False)),
                               keras.ops.convert_to_numpy(model(x, training=False)),
                               rtol=1e-5, atol=1e-6)


@pytest.fixture(scope="session")
def reloaded_in_fresh_process(tmp_path_factory):
    """Save every tiny model as .keras, reload all with safe_mode=True in one new process."""
    directory = tmp_path_factory.mktemp("saved")
    for model_name in kerazoo.list_models():
        model = tiny_model(model_name)
        x = sample_inputs(model_name, model, np.random.default_rng(3))
        model.save(directory / f"{model_name}.keras")
        np.savez(directory / f"{model_name}.npz", *(x if isinstance(x, tuple) else (x,)))
        np.save(directory / f"{model_name}.expected.npy",
                keras.ops.convert_to_numpy(model(x, training=False)))
    script = textwrap.dedent(f"""
        import kerazoo  # alone, before Keras: enough for safe_mode loading
        import json, pathlib, numpy as np, keras
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


def on_accelerator() -> bool:
    return any(not device.startswith("cpu") for device in keras.distribution.list_devices())


def test_keras_file_reloads_identically_in_a_fresh_process(name, reloaded_in_fresh_process):
    directory, results = reloaded_in_fresh_process
    assert results.get(name)
    reloaded = np.load(directory / f"{name}.reloaded.npy")
    expected = np.load(directory / f"{name}.expected.npy")
    if on_accelerator():
        # A new process on a GPU may autotune to other kernels, and float32 matrix products
        # may run in TF32 there: on an H100 with JAX, outputs differed by up to 1.2e-5
        # (relative) between processes. Bitwise equality is a CPU promise.
        np.testing.assert_allclose(reloaded, expected, rtol=1e-3, atol=1e-5)
    else:
        np.testing.assert_array_equal(reloaded, expected)


class CustomStepModel(keras.Model):
    """A model with a hand-written training step: what a user who outgrows `compile` writes.
    Each backend differentiates its own way (a tape in TensorFlow, pure functions in JAX)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.loss_tracker = keras.metrics.Mean(name="loss")

    @property
    def metrics(self):
        return [self.loss_tracker]

    def cross_entropy(self, labels, probabilities):
        return keras.ops.mean(keras.losses.sparse_categorical_crossentropy(labels,
                                                                           probabilities))

    def train_step(self, *arguments):
        backend = keras.backend.backend()
        if backend == "tensorflow":
            return self.tensorflow_train_step(*arguments)
        if backend == "jax":
            return self.jax_train_step(*arguments)
        pytest.skip(f"no custom training step written for the {backend} backend")

    def tensorflow_train_step(self, data):
        import tensorflow as tf

        x, y = data
        with tf.GradientTape() as tape:
            loss = self.cross_entropy(y, self(x, training=True))
        gradients = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply(gradients, self.trainable_variables)
        self.loss_tracker.update_state(loss)
        return {"loss": self.loss_tracker.result()}

    def jax_train_step(self, state, data):
        import jax

        trainable, non_trainable, optimizer_variables, metrics_variables = state
        x, y = data

        def loss_of(trainable, non_trainable):
            probabilities, non_trainable = self.stateless_call(trainable, non_trainable, x,
                                                               training=True)
            return self.cross_entropy(y, probabilities), non_trainable

        (loss, non_trainable), gradients = jax.value_and_grad(loss_of, has_aux=True)(
            trainable, non_trainable)
        trainable, optimizer_variables = self.optimizer.stateless_apply(
            optimizer_variables, gradients, trainable)
        metrics_variables = self.loss_tracker.stateless_update_state(metrics_variables, loss)
        logs = {"loss": self.loss_tracker.stateless_result(metrics_variables)}
        return logs, (trainable, non_trainable, optimizer_variables, metrics_variables)


def test_builders_are_sub_models_of_plain_keras_code_trained_by_a_custom_step():
    """A zoo denoiser feeding a zoo classifier inside a user's functional model, trained by
    the user's own step: both sub-models learn, and the whole model predicts directly."""
    keras.utils.set_random_seed(0)
    side = 16
    denoiser = kerazoo.build("conv_denoising_autoencoder", input_shape=(side, side, 3),
                             filters=[4], output_activation="linear")
    classifier = kerazoo.build("alexnet", input_shape=(side, side, 3), num_classes=3,
                               width_multiplier=0.0625, dropout=0.0)
    images = keras.Input(shape=(side, side, 3), name="noisy_images")
    model = CustomStepModel(images, classifier(denoiser(images)))
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    rng = np.random.default_rng(0)
    y = np.arange(SAMPLES, dtype="int32") % 3
    patterns = rng.normal(size=(3, side, side, 3))  # one per class, seen through noise
    x = (patterns[y] + 0.5 * rng.normal(size=(SAMPLES, side, side, 3))).astype("float32")
    before = [np.array(w) for w in (*denoiser.get_weights(), *classifier.get_weights())]

    losses = model.fit(x, y, batch_size=SAMPLES, epochs=30, verbose=0).history["loss"]

    assert losses[-1] < 0.9 * losses[0]
    after = [*denoiser.get_weights(), *classifier.get_weights()]
    changed = [not np.array_equal(old, new) for old, new in zip(before, after, strict=True)]
    assert changed[0] and changed[-1]  # gradients reached the denoiser's first layer
    probabilities = keras.ops.convert_to_numpy(model.predict(x, verbose=0))
    np.testing.assert_allclose(probabilities.sum(axis=-1), 1.0, rtol=1e-5)


def test_every_builder_takes_name_as_keras_models_do(name):
    model = kerazoo.build(name, name="my_model", **kerazoo.model_info(name).tiny)
    assert model.name == "my_model"


def test_two_zoo_models_in_one_functional_model_get_distinct_names():
    features = keras.Input(shape=(8,))
    first, second = (kerazoo.build("mlp", input_shape=(8,), units=[4]) for _ in "ab")
    assert first.name != second.name and first.name.startswith("mlp")
    model = keras.Model(features, keras.layers.Average()([first(features), second(features)]))
    assert model.predict(np.zeros((2, 8), "float32"), verbose=0).shape == (2, 10)


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_outputs_stay_float32_under_a_mixed_precision_policy(name, policy):
    """Keras' mixed-precision guide: the model's last layer computes in float32."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        model = tiny_model(name)
    finally:
        keras.config.set_dtype_policy(previous)
    assert [str(tensor.dtype) for tensor in model.outputs] == ["float32"]
    outputs = model(sample_inputs(name, model, np.random.default_rng(0)))
    assert keras.backend.standardize_dtype(outputs.dtype) == "float32"
