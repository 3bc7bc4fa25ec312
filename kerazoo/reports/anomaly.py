"""Anomaly detection by reconstruction error: how well the score separates the held-out
anomalies from normal test samples (ROC AUC, a histogram, the ROC curve), and what a
threshold set from training scores alone would catch."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn import metrics as sklearn_metrics

from kerazoo import anomaly, plots
from kerazoo.data.splits import DataSplits
from kerazoo.reports.context import ReportContext, ReportOutput

NAME = "anomaly_detection"
TASK = "reconstruction"
# The threshold flags the worst 1 % of training reconstructions, so about 1 % of normal
# data raises a false alarm; no labelled anomaly is needed to set it.
THRESHOLD_PERCENTILE = 99.0


def applies(context: ReportContext) -> bool:
    labels = context.data.test.info.get("is_anomaly")
    return (context.task == TASK and labels is not None
            and 0 < int(np.count_nonzero(labels)) < len(labels))


SCORE_NAME = "reconstruction error (mean squared)"


@dataclass
class Separation:
    """How the test split's reconstruction errors separate its anomalies from normal data."""

    scores: np.ndarray
    is_anomaly: np.ndarray
    threshold: float
    area: float
    false_positive_rates: np.ndarray
    true_positive_rates: np.ndarray

    def metrics(self) -> dict[str, float]:
        flagged = anomaly.flag_anomalies(self.scores, self.threshold)
        return {"roc_auc": self.area,
                "anomaly_recall": float(flagged[self.is_anomaly].mean()),
                "false_alarm_rate": float(flagged[~self.is_anomaly].mean())}


def separation(model, data: DataSplits, batch_size: int,
               reconstructions: np.ndarray | None = None) -> Separation:
    """Score the test split, set the threshold from the training split's scores alone.
    Shared by this report and the course's anomaly lesson, so both measure the same way."""
    test, train = data.test, data.train
    is_anomaly = np.asarray(test.info["is_anomaly"], dtype=bool)
    scores = anomaly.reconstruction_errors(model, test.x, batch_size,
                                           reconstructions=reconstructions)
    threshold = anomaly.percentile_threshold(
        anomaly.reconstruction_errors(model, train.x, batch_size), THRESHOLD_PERCENTILE)
    area = float(sklearn_metrics.roc_auc_score(is_anomaly, scores))
    false_positive_rates, true_positive_rates, _ = sklearn_metrics.roc_curve(is_anomaly, scores)
    return Separation(scores, is_anomaly, threshold, area, false_positive_rates,
                      true_positive_rates)


def write(context: ReportContext, directory: Path) -> ReportOutput:
    measured = separation(context.model, context.data, context.batch_size,
                          reconstructions=context.test_predictions())
    scores, is_anomaly = measured.scores, measured.is_anomaly
    context.painter.draw(directory / "anomaly_scores.png", plots.score_histogram,
                         scores[~is_anomaly], scores[is_anomaly], measured.threshold,
                         SCORE_NAME)
    context.painter.draw(directory / "roc_curve.png", plots.roc_curve,
                         measured.false_positive_rates, measured.true_positive_rates,
                         measured.area)
    return ReportOutput(
        metrics=measured.metrics(),
        params={"anomaly_threshold": f"{measured.threshold:.6g} (training percentile "
                                     f"{THRESHOLD_PERCENTILE:g})"})
