"""The model registry: names, wildcards, metadata, errors, and entry-point plugins."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import keras
import pytest

import kerazoo
from kerazoo.errors import KerazooError
from kerazoo.registry import Registry, model_registry


def test_build_by_name_returns_a_plain_keras_model():
    model = kerazoo.build("mlp", units=[16], num_classes=3)
    assert isinstance(model, keras.Model)
    assert model.output_shape == (None, 3)


def test_builders_are_importable_as_plain_functions():
    from kerazoo.models import mlp

    assert mlp(units=[4]).count_params() == kerazoo.build("mlp", units=[4]).count_params()


def test_list_models_filters_with_shell_wildcards():
    assert "mlp" in kerazoo.list_models()
    assert kerazoo.list_models("ml?") == ["mlp"]
    assert kerazoo.list_models("no-such-*") == []


def test_model_info_gives_task_defaults():
    info = kerazoo.model_info("mlp")
    assert (info.task, info.input_kind, info.family) == ("classification", "tabular", "mlp")
    assert info.loss == "sparse_categorical_crossentropy"
    assert info.metrics == ("accuracy",)


def test_unknown_name_suggests_close_matches():
    with pytest.raises(KerazooError, match=r"unknown model 'mpl' \(did you mean 'mlp'\?\)"):
        kerazoo.build("mpl")


def test_bad_keyword_names_the_accepted_keywords():
    with pytest.raises(KerazooError) as caught:
        kerazoo.build("mlp", unit=[3])
    message = str(caught.value)
    assert "'unit'" in message and "did you mean 'units'" in message
    assert "accepted: activation, batch_normalization, dropout" in message


def test_registering_a_name_twice_is_an_error():
    registry = Registry("model", "kerazoo.test-none")

    def twin():
        return None

    registry.add(twin)
    registry.add(twin)  # the same function again is harmless (re-import)

    def other():
        return None

    with pytest.raises(KerazooError, match="already registered"):
        registry.add(other, name="twin")


def test_register_model_requires_defaults_for_every_argument():
    with pytest.raises(KerazooError, match="must give every argument a default; missing: units"):

        @kerazoo.register_model
        def needs_units(units):
            return None


def test_entry_point_plugin_is_found(tmp_path, monkeypatch):
    """A tiny plugin package, really installed with pip, registers a builder via entry points."""
    source = tmp_path / "plugin-src"
    (source / "kerazoo_tiny_plugin").mkdir(parents=True)
    (source / "kerazoo_tiny_plugin" / "__init__.py").write_text(textwrap.dedent('''
        import keras
        import kerazoo

        @kerazoo.register_model(task="regression", input_kind="tabular", family="plugin")
        def tiny_linear(input_dim=3):
            inputs = keras.Input((input_dim,))
            return keras.Model(inputs, keras.layers.Dense(1)(inputs), name="tiny_linear")

        def undecorated_linear(input_dim=2):
            inputs = keras.Input((input_dim,))
            return keras.Model(inputs, keras.layers.Dense(1)(inputs))
    '''))
    (source / "pyproject.toml").write_text(textwrap.dedent('''
        [build-system]
        requires = ["setuptools"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "kerazoo-tiny-plugin"
        version = "0.0.1"

        [project.entry-points."kerazoo.models"]
        tiny = "kerazoo_tiny_plugin"
        undecorated_linear = "kerazoo_tiny_plugin:undecorated_linear"
    '''))
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-build-isolation", "--no-index", "--target", str(target),
                    str(source)], check=True, capture_output=True)
    monkeypatch.syspath_prepend(str(target))
    monkeypatch.setattr(model_registry, "_entries", dict(model_registry._entries))
    model_registry.reset_plugins()
    try:
        assert {"tiny_linear", "undecorated_linear"} <= set(kerazoo.list_models())
        assert kerazoo.model_info("tiny_linear").family == "plugin"
        assert kerazoo.build("tiny_linear", input_dim=5).input_shape == (None, 5)
        assert kerazoo.build("undecorated_linear").input_shape == (None, 2)
    finally:
        model_registry.reset_plugins()
