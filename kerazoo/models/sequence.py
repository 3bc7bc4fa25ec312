"""Recurrent sequence models: classifiers of token or numeric sequences, and time-series
forecasters that predict one step or several steps ahead."""

from __future__ import annotations

import keras

from kerazoo import arguments
from kerazoo.arguments import OUTPUT_DTYPE
from kerazoo.models.recurrent import recurrent_stack
from kerazoo.registry import register_model


def _sequence_input(input_shape, vocabulary_size, embedding_dim):
    """The input and its embedding. The shape's rank says what the data is: (steps,) holds
    token ids, embedded with id 0 masked as padding; (steps, features) holds numbers, read
    as they are."""
    input_shape = arguments.sequence_shape("input_shape", input_shape)
    vocabulary_size = arguments.int_at_least("vocabulary_size", vocabulary_size, 2)
    embedding_dim = arguments.positive_int("embedding_dim", embedding_dim)
    if len(input_shape) == 2:
        inputs = keras.Input(shape=input_shape, name="series")
        return inputs, inputs
    inputs = keras.Input(shape=input_shape, dtype="int32", name="token_ids")
    embedded = keras.layers.Embedding(vocabulary_size, embedding_dim, mask_zero=True,
                                      name="embedding")(inputs)
    return inputs, embedded


def _build_classifier(cell, name, input_shape, vocabulary_size, embedding_dim, units,
                      bidirectional, dropout, num_classes) -> keras.Model:
    units = arguments.positive_ints("units", units)
    bidirectional = arguments.boolean("bidirectional", bidirectional)
    dropout = arguments.fraction("dropout", dropout)
    num_classes = arguments.int_at_least("num_classes", num_classes, 2)
    inputs, hidden = _sequence_input(input_shape, vocabulary_size, embedding_dim)
    hidden = recurrent_stack(hidden, cell, units, dropout=dropout, bidirectional=bidirectional)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="probabilities",
                                 dtype=OUTPUT_DTYPE)(hidden)
    return keras.Model(inputs, outputs, name=name)


def _build_forecaster(cell, name, input_shape, units, horizon, dropout) -> keras.Model:
    input_shape = arguments.sequence_shape("input_shape", input_shape, ranks=(2,))
    units = arguments.positive_ints("units", units)
    horizon = arguments.positive_int("horizon", horizon)
    dropout = arguments.fraction("dropout", dropout)
    inputs = keras.Input(shape=input_shape, name="series")
    hidden = recurrent_stack(inputs, cell, units, dropout=dropout)
    # All `horizon` steps from the last state at once ("direct" multi-step forecasting):
    # no feeding back of predictions, so errors do not compound within one forecast.
    outputs = keras.layers.Dense(horizon, name="forecast", dtype=OUTPUT_DTYPE)(hidden)
    return keras.Model(inputs, outputs, name=name)


@register_model(task="classification", input_kind="sequence", family="sequence_classifier",
                tiny={"vocabulary_size": 5, "embedding_dim": 4, "units": [8, 8],
                      "bidirectional": True, "num_classes": 3})
def lstm_classifier(input_shape=(None,), vocabulary_size=10000, embedding_dim=64, units=(64,),
                    bidirectional=False, dropout=0.0, num_classes=2, name=None) -> keras.Model:
    """Stacked (optionally bidirectional) LSTM layers of `units` widths over token ids
    (`input_shape=(steps,)`, id 0 = padding) or numbers (`(steps, features)`), then a softmax
    over `num_classes` read from the last state."""
    name = arguments.model_name(name, "lstm_classifier")
    return _build_classifier("lstm", name, input_shape, vocabulary_size,
                             embedding_dim, units, bidirectional, dropout, num_classes)


@register_model(task="classification", input_kind="sequence", family="sequence_classifier",
                tiny={"input_shape": [None, 3], "units": [8], "num_classes": 3})
def gru_classifier(input_shape=(None,), vocabulary_size=10000, embedding_dim=64, units=(64,),
                   bidirectional=False, dropout=0.0, num_classes=2, name=None) -> keras.Model:
    """`lstm_classifier` with GRU layers: fewer parameters, often as accurate."""
    name = arguments.model_name(name, "gru_classifier")
    return _build_classifier("gru", name, input_shape, vocabulary_size,
                             embedding_dim, units, bidirectional, dropout, num_classes)


@register_model(task="classification", input_kind="sequence", family="sequence_classifier",
                tiny={"vocabulary_size": 5, "embedding_dim": 4, "units": [8],
                      "num_classes": 3})
def simple_rnn_classifier(input_shape=(None,), vocabulary_size=10000, embedding_dim=64,
                          units=(64,), bidirectional=False, dropout=0.0, num_classes=2,
                          name=None) -> keras.Model:
    """`lstm_classifier` with plain (Elman) recurrent layers: no gates, so gradients through
    many steps vanish; the baseline LSTM and GRU are measured against on long dependencies."""
    name = arguments.model_name(name, "simple_rnn_classifier")
    return _build_classifier("simple_rnn", name, input_shape, vocabulary_size,
                             embedding_dim, units, bidirectional, dropout, num_classes)


@register_model(task="regression", input_kind="time_series", family="forecaster",
                tiny={"input_shape": [None, 2], "units": [8], "horizon": 3})
def lstm_forecaster(input_shape=(None, 1), units=(32,), horizon=1, dropout=0.0,
                    name=None) -> keras.Model:
    """Stacked LSTM layers over a window of shape (steps, features), then a linear layer
    predicting the next `horizon` values of the target series: shape (batch, horizon)."""
    name = arguments.model_name(name, "lstm_forecaster")
    return _build_forecaster("lstm", name, input_shape, units, horizon, dropout)


@register_model(task="regression", input_kind="time_series", family="forecaster",
                tiny={"input_shape": [None, 1], "units": [8, 8]})
def gru_forecaster(input_shape=(None, 1), units=(32,), horizon=1, dropout=0.0,
                    name=None) -> keras.Model:
    """`lstm_forecaster` with GRU layers."""
    name = arguments.model_name(name, "gru_forecaster")
    return _build_forecaster("gru", name, input_shape, units, horizon, dropout)
