"""`train.precision`: a recipe trains under each dtype policy with float32 outputs, the
policy is logged, and the process's global policy is left as it was."""

from __future__ import annotations

import math

import keras
import pytest

from kerazoo.config.recipe import PRECISIONS, load_recipe
from kerazoo.training.runner import run_recipe


@pytest.mark.parametrize("precision", PRECISIONS)
def test_recipe_trains_under_each_precision(client, precision):
    recipe = load_recipe("mlp_digits", ["train.epochs=1", f"train.precision={precision}",
                                        "train.steps_per_execution=4"])
    result = run_recipe(recipe, smoke=True, verbose=0)

    model = result.model
    hidden = next(layer for layer in model.layers if isinstance(layer, keras.layers.Dense))
    assert hidden.dtype_policy.name == precision
    assert model.output.dtype == "float32"  # the loss sees float32 whatever the policy
    # Keras scales the loss itself under float16, whose small gradients would flush to zero.
    scaled = isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert scaled == (precision == "mixed_float16")
    assert math.isfinite(result.metrics["test_loss"])
    assert keras.config.dtype_policy().name == "float32"  # restored for the next recipe
    params = client.get_run(result.run_id).data.params
    assert params["train.precision"] == precision
    assert params["train.steps_per_execution"] == "4"
