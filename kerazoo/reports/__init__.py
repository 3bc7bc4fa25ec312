"""Task reports: what a person would rather look at than read, written after evaluation.

Each report module offers `applies(context)` (from the model's registry task and what the
data carries: `extras` and each split's `info`, never a recipe's name) and
`write(context, directory)`, which writes files into `directory` and returns metrics and
params. Nothing here imports MLflow: the runner logs what the reports return, the metrics
as test metrics (`test_` + name) and the files as artifacts under reports/.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import keras

from kerazoo.reports import (
    anomaly,
    classification,
    denoising,
    forecasting,
    language_model,
    sequence_to_sequence,
)
from kerazoo.reports.context import ReportContext, ReportOutput

# In the order their files are written; several may apply to one run (an anomaly detector
# is also an autoencoder whose reconstructions are worth seeing).
REPORTS = (classification, language_model, sequence_to_sequence, denoising, anomaly,
           forecasting)


def applicable(context: ReportContext) -> list[str]:
    """Names of the reports that apply to this model and data."""
    return [module.NAME for module in REPORTS if module.applies(context)]


def write_reports(context: ReportContext, directory: Path,
                  strict: bool = True) -> ReportOutput:
    """Run every applicable report into `directory`; metrics come back prefixed `test_`.
    Figures go through `context.painter`: drawn at once by default, or by its helper process,
    when they are in `directory` once `context.painter.wait()` has returned.

    A failing report raises when `strict` (tests); otherwise it is skipped with a warning,
    because a figure must not cost the user the run it describes.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    combined = ReportOutput()
    for module in REPORTS:
        if not module.applies(context):
            continue
        try:
            output = module.write(context, directory)
        except Exception as error:
            if strict:
                raise
            warnings.warn(f"kerazoo: report {module.NAME!r} failed: "
                          f"{type(error).__name__}: {error}", stacklevel=2)
            continue
        combined.metrics.update({f"test_{name}": float(value)
                                 for name, value in output.metrics.items()})
        combined.params.update({f"report.{name}": value
                                for name, value in output.params.items()})
    return combined


def epoch_callbacks(task: str) -> list[keras.callbacks.Callback]:
    """Callbacks that add a task's per-epoch figures to `logs` (bits per character for a
    language model), to be placed before the tracking callback."""
    if task == language_model.TASK:
        return [language_model.BitsPerCharacter()]
    return []


__all__ = ["REPORTS", "ReportContext", "ReportOutput", "applicable", "epoch_callbacks",
           "write_reports"]
