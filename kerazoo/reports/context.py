"""What every report is given, and what it gives back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np

from kerazoo.data.splits import DataSplits


@dataclass
class ReportContext:
    model: keras.Model
    data: DataSplits
    task: str  # the model's registry task (kerazoo.registry.TASK_DEFAULTS)
    seed: int = 0  # for anything sampled, so a report is the same for the same run
    batch_size: int = 256
    test_metrics: dict[str, float] = field(default_factory=dict)  # from evaluate, test_*
    _test_predictions: np.ndarray | None = field(default=None, init=False, repr=False)

    def predict(self, x: Any) -> np.ndarray:
        return np.asarray(self.model.predict(x, batch_size=self.batch_size, verbose=0))

    def test_predictions(self) -> np.ndarray:
        """The model's outputs on the test inputs, predicted once for all the reports."""
        if self._test_predictions is None:
            self._test_predictions = self.predict(self.data.test.x)
        return self._test_predictions


@dataclass
class ReportOutput:
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
