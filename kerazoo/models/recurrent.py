"""Recurrent layers chosen by name and stacked: shared by char_rnn, the sequence classifiers
and forecasters, and seq2seq, so every family spells cell names and stacking the same way."""

from __future__ import annotations

import keras

from kerazoo import arguments

RECURRENT_LAYERS = {
    "simple_rnn": keras.layers.SimpleRNN,
    "lstm": keras.layers.LSTM,
    "gru": keras.layers.GRU,
}


def cell_name(argument: str, value, choices=tuple(RECURRENT_LAYERS)) -> str:
    return arguments.one_of(argument, value, choices)


def recurrent_layer(cell: str, units: int, **kwargs) -> keras.layers.RNN:
    return RECURRENT_LAYERS[cell](units, **kwargs)


def recurrent_stack(hidden, cell: str, units: tuple[int, ...], *, dropout: float = 0.0,
                    bidirectional: bool = False, return_sequences: bool = False):
    """Recurrent layers of `units` widths, each followed by dropout when `dropout` > 0.

    Every layer but the last returns its whole sequence (the next layer reads it); the last
    returns only its final state unless `return_sequences`. Dropout sits between layers, as
    in Zaremba et al. (2014), never on the recurrent connections, so the fused kernels stay
    usable.
    """
    for index, width in enumerate(units):
        last = index == len(units) - 1
        layer = recurrent_layer(cell, width, return_sequences=return_sequences or not last,
                                name=f"{cell}_{index}")
        if bidirectional:
            layer = keras.layers.Bidirectional(layer, name=f"bidirectional_{cell}_{index}")
        hidden = layer(hidden)
        if dropout:
            hidden = keras.layers.Dropout(dropout, name=f"dropout_{index}")(hidden)
    return hidden
