"""Recipe files: validation with key paths, overrides, smoke, safe YAML."""

from __future__ import annotations

import pytest

from kerazoo.config.recipe import available_recipes, load_recipe, parse_assignment
from kerazoo.errors import KerazooError


def write(tmp_path, text: str):
    path = tmp_path / "recipe.yaml"
    path.write_text(text)
    return str(path)


MINIMAL = """
experiment: test
model: {name: mlp, units: [8]}
data: {name: digits}
"""


def test_every_shipped_recipe_validates():
    for name in available_recipes():
        recipe = load_recipe(name)
        assert recipe.name == name
        assert recipe.experiment


def test_minimal_recipe_gets_defaults(tmp_path):
    recipe = load_recipe(write(tmp_path, MINIMAL))
    assert recipe.name == "recipe"
    assert recipe.train.epochs == 10 and recipe.train.optimizer == "adam"
    assert recipe.model.kwargs == {"units": [8]}
    assert recipe.source_path is not None


def test_overrides_reach_nested_keys_and_parse_values(tmp_path):
    recipe = load_recipe(write(tmp_path, MINIMAL),
                         ["train.epochs=3", "model.dropout=0.2", "model.units=[4, 2]",
                          "train.learning_rate=auto"])
    assert recipe.train.epochs == 3
    assert recipe.model.kwargs == {"units": [4, 2], "dropout": 0.2}
    assert recipe.train.learning_rate == "auto"


def test_smoke_sets_one_epoch_and_applies_the_recipe_smoke_section(tmp_path):
    path = write(tmp_path, MINIMAL + "train: {epochs: 50}\nsmoke: {model.units: [2]}\n")
    recipe = load_recipe(path, smoke=True)
    assert recipe.train.epochs == 1 and recipe.model.kwargs["units"] == [2]
    # the user's --set wins over the smoke section
    assert load_recipe(path, ["model.units=[3]"], smoke=True).model.kwargs["units"] == [3]


@pytest.mark.parametrize("text, overrides, expected", [
    (MINIMAL + "trian: {epochs: 3}\n", [],
     r"trian: unknown key \(did you mean 'train'\?\); accepted: callbacks, data"),
    (MINIMAL, ["train.epochz=3"], r"train\.epochz: unknown key \(did you mean 'epochs'\?\)"),
    (MINIMAL, ["train.epochs=0"], r"train\.epochs: .*greater than or equal to 1. "
                                  r"Received: train\.epochs=0"),
    (MINIMAL, ["train.batch_size=many"], r"train\.batch_size: .*valid integer.*'many'"),
    (MINIMAL, ["model.name=mpl"], r"model: unknown model 'mpl' \(did you mean 'mlp'\?\)"),
    (MINIMAL, ["model.unitz=3"], r"model: model 'mlp' has no argument 'unitz'"),
    (MINIMAL, ["data.name=digit"], r"data: unknown data loader 'digit' \(did you mean 'digits'"),
    ("model: {name: mlp}\ndata: {name: digits}\n", [], r"experiment: required key is missing"),
    ("- a\n- list\n", [], r"must hold a mapping of keys"),
    ("model: [unclosed\n", [], r"is not valid YAML at line 2"),
    (MINIMAL + "callbacks: [{name: early_stoping}]\n", [],
     r"callbacks\.0: unknown callback 'early_stoping' \(did you mean 'early_stopping'"),
])
def test_mistakes_name_the_key_path(tmp_path, text, overrides, expected):
    with pytest.raises(KerazooError, match=expected):
        load_recipe(write(tmp_path, text), overrides)


def test_unknown_recipe_name_suggests():
    with pytest.raises(KerazooError, match=r"unknown recipe 'mlp_digit' \(did you mean "
                                           r"'mlp_digits'"):
        load_recipe("mlp_digit")


def test_assignment_needs_an_equals_sign():
    with pytest.raises(KerazooError, match="--set takes KEY=VALUE"):
        parse_assignment("train.epochs")
    assert parse_assignment("a.b=[1, 2]") == ("a.b", [1, 2])


def test_yaml_is_parsed_safely(tmp_path):
    evil = MINIMAL + "description: !!python/object/apply:os.system ['echo pwned']\n"
    with pytest.raises(KerazooError, match="not valid YAML"):
        load_recipe(write(tmp_path, evil))


def test_set_one_past_the_end_of_a_list_appends(tmp_path):
    recipe = load_recipe(write(tmp_path, MINIMAL), ["callbacks.0.name=early_stopping",
                                                    "callbacks.0.patience=3"])
    assert [(c.name, c.kwargs) for c in recipe.callbacks] == [("early_stopping",
                                                               {"patience": 3})]


def test_the_resume_hash_ignores_descriptive_sections(tmp_path):
    path = write(tmp_path, MINIMAL)
    base = load_recipe(path).content_hash()
    assert load_recipe(path, ["description=edited", "quality={metric: m, floor: 1}"]) \
        .content_hash() == base
    assert load_recipe(path, ["train.epochs=3"]).content_hash() != base
