"""Anomaly detection by reconstruction error: how well the score separates the held-out
anomalies from normal test samples (ROC AUC, a histogram, the ROC curve), and what a
threshold set from training scores alone would catch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn import metrics as sklearn_metrics

from kerazoo import anomaly, plots
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


def write(context: ReportContext, directory: Path) -> ReportOutput:
    test, train = context.data.test, context.data.train
    is_anomaly = np.asarray(test.info["is_anomaly"], dtype=bool)
    scores = anomaly.reconstruction_errors(context.model, test.x, context.batch_size,
                                           reconstructions=context.test_predictions())
    threshold = anomaly.percentile_threshold(
        anomaly.reconstruction_errors(context.model, train.x, context.batch_size),
        THRESHOLD_PERCENTILE)
    flagged = anomaly.flag_anomalies(scores, threshold)
    area = float(sklearn_metrics.roc_auc_score(is_anomaly, scores))
    false_positive_rates, true_positive_rates, _ = sklearn_metrics.roc_curve(is_anomaly, scores)

    context.painter.draw(directory / "anomaly_scores.png", plots.score_histogram,
                         scores[~is_anomaly], scores[is_anomaly], threshold,
                         "reconstruction error (mean squared)")
    context.painter.draw(directory / "roc_curve.png", plots.roc_curve, false_positive_rates,
                         true_positive_rates, area)
    return ReportOutput(
        metrics={"roc_auc": area,
                 "anomaly_recall": float(flagged[is_anomaly].mean()),
                 "false_alarm_rate": float(flagged[~is_anomaly].mean())},
        params={"anomaly_threshold": f"{threshold:.6g} (training percentile "
                                     f"{THRESHOLD_PERCENTILE:g})"})
