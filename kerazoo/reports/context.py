"""What every report is given, and what it gives back."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np

from kerazoo.callbacks.model_parts import all_layers, layers_of_type
from kerazoo.data.splits import DataSplits, take
from kerazoo.tracking.painter import Painter

# What one direct call may hold: every layer's outputs for its rows, even if all were alive
# at once, stay under this.
PREDICTION_BYTES_PER_CALL = 64 * 2**20


def predict_in_batches(model: keras.Model, x: Any, batch_size: int) -> np.ndarray:
    """The model's outputs on `x` in inference mode.

    `model.predict` traces a function and builds an input pipeline on every call: about
    0.1 s before the first batch (mlp_digits), more than a feed-forward model spends on a
    whole test split when called directly. A recurrent layer called directly runs its time
    loop one Python step at a time (0.2-0.6 s a batch for char_rnn), so models with one
    go through `predict`. Either way the choice depends on the model alone, so the same run
    always takes the same path. A direct call costs 2-3 ms whatever its size (mlp_digits'
    360 test rows: 28 ms in batches of 32, 3 ms at once), so each takes as many rows as
    `rows_per_call` allows, and never fewer than the training batch, which is known to fit."""
    if layers_of_type(model, keras.layers.RNN):
        return np.asarray(model.predict(x, batch_size=batch_size, verbose=0))
    rows = len(x[0] if isinstance(x, tuple) else x)
    step = max(batch_size, rows_per_call(model))
    return np.concatenate([
        keras.ops.convert_to_numpy(model(take(x, slice(start, start + step)),
                                         training=False))
        for start in range(0, rows, step)])


def rows_per_call(model: keras.Model) -> int:
    """Rows whose layer outputs, all counted at once, fit in PREDICTION_BYTES_PER_CALL; 0
    when they cannot be counted (a layer without one fixed output shape)."""
    try:
        bytes_per_row = sum(
            math.prod(tensor.shape[1:]) * np.dtype(tensor.dtype).itemsize
            for layer in all_layers(model) for tensor in keras.tree.flatten(layer.output))
    except (AttributeError, ValueError, TypeError):
        return 0
    return PREDICTION_BYTES_PER_CALL // max(bytes_per_row, 1)


@dataclass
class ReportContext:
    model: keras.Model
    data: DataSplits
    task: str  # the model's registry task (kerazoo.registry.TASK_DEFAULTS)
    seed: int = 0  # for anything sampled, so a report is the same for the same run
    batch_size: int = 256
    test_metrics: dict[str, float] = field(default_factory=dict)  # from evaluate, test_*
    # Draws the figures (kerazoo.tracking.painter): in this process unless the runner passes its
    # helper, in which case they are written when `painter.wait()` returns.
    painter: Painter = field(default_factory=lambda: Painter(helper=False), repr=False)
    _test_predictions: np.ndarray | None = field(default=None, init=False, repr=False)

    def test_predictions(self) -> np.ndarray:
        """The model's outputs on the test inputs, predicted once for all the reports."""
        if self._test_predictions is None:
            self._test_predictions = predict_in_batches(self.model, self.data.test.x,
                                                        self.batch_size)
        return self._test_predictions


@dataclass
class ReportOutput:
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
