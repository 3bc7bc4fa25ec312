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

    def predict(self, x: Any) -> np.ndarray:
        return np.asarray(self.model.predict(x, batch_size=self.batch_size, verbose=0))


@dataclass
class ReportOutput:
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
