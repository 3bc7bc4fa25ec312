"""Digits with one class held out as the anomaly: unsupervised anomaly detection.

A model (an autoencoder) trains to reconstruct the nine normal classes only; its
reconstruction error then scores the test set, where the held-out class is mixed in.
"""

from __future__ import annotations

import numpy as np

from kerazoo import arguments
from kerazoo.data import checks
from kerazoo.data.digits import (
    CLASS_NAMES,
    SOURCE,
    add_noise,
    check_image_options,
    digit_images,
    image_splits,
)
from kerazoo.data.splits import DataSplits, split_three_ways
from kerazoo.registry import register_data


@register_data
def digits_anomaly(seed=0, anomaly_class=0, validation_fraction=0.15, test_fraction=0.15,
                   image=False, image_size=8, noise=0.0) -> DataSplits:
    """Train and validation hold only the normal classes; test holds its share of them plus
    every image of `anomaly_class`, shuffled together.

    Targets are the clean images. Each split's `info` has `label` (the digit) and
    `is_anomaly` (bool; true only in test). The default class 0 is one of the easier ones
    to tell apart (a linear 8-component PCA scores ROC AUC ≈ 0.96 on it, ≈ 0.75 on 1).
    """
    seed = checks.seed(seed)
    if isinstance(anomaly_class, bool) or anomaly_class not in range(10):
        raise arguments.fail("anomaly_class", "a digit from 0 to 9", anomaly_class)
    validation_fraction, test_fraction = checks.split_fractions(validation_fraction,
                                                                test_fraction)
    image_size, noise, image = check_image_options(image_size, noise, image)
    clean, labels = digit_images(image_size)
    noisy = add_noise(clean, noise, seed)
    normal = np.flatnonzero(labels != anomaly_class)
    anomalous = np.flatnonzero(labels == anomaly_class)
    rows = split_three_ways(normal, labels[normal], seed, validation_fraction, test_fraction)
    # Shuffled so that any prefix of the test split (`--smoke` keeps one) has both kinds.
    test_rows = np.random.default_rng([seed, 2]).permutation(
        np.concatenate([rows[2].x, anomalous]))
    splits = image_splits(clean, noisy, labels, (rows[0].x, rows[1].x, test_rows), image,
                          "images")
    for split in splits:
        split.info["is_anomaly"] = split.info["label"] == anomaly_class
    train, validation, test = splits
    return DataSplits(
        name="digits_anomaly",
        source=f"{SOURCE}, class {anomaly_class} held out as the anomaly"
               + (f", upsampled to {image_size}x{image_size}" if image_size != 8 else ""),
        train=train, validation=validation, test=test,
        model_hints={"input_shape": train.x.shape[1:]},
        extras={"class_names": CLASS_NAMES, "anomaly_class": anomaly_class,
                "normal_classes": [digit for digit in range(10) if digit != anomaly_class]},
    )

