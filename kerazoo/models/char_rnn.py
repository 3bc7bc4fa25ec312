"""Character-level language model after Karpathy (2015), "The Unreasonable Effectiveness of
Recurrent Neural Networks": read characters, predict the next one at every step.

Sample text from a trained (or saved and reloaded) model with `kerazoo.generate.sample_text`.
"""

from __future__ import annotations

import keras

from kerazoo import arguments
from kerazoo.arguments import OUTPUT_DTYPE
from kerazoo.models.recurrent import cell_name, recurrent_stack
from kerazoo.registry import register_model


@register_model(task="language_model", input_kind="characters", family="char_rnn",
                tiny={"vocabulary_size": 5, "embedding_dim": 4, "units": [8]})
def char_rnn(
    vocabulary_size=97,  # padding, newline and the 95 printable ASCII characters
    embedding_dim=64,
    units=(256,),
    cell="lstm",
    dropout=0.0,
    name=None,
) -> keras.Model:
    """Embedding -> stacked `cell` layers ("simple_rnn", "lstm" or "gru") of `units` widths,
    dropout between them -> softmax over the vocabulary at every step.

    Inputs are character ids of shape (batch, steps); outputs (batch, steps, vocabulary_size),
    trained against the next character's id at each step; any number of steps is accepted.
    Id 0 is padding and is never sampled.
    """
    vocabulary_size = arguments.int_at_least("vocabulary_size", vocabulary_size, 2)
    embedding_dim = arguments.positive_int("embedding_dim", embedding_dim)
    units = arguments.positive_ints("units", units)
    cell = cell_name("cell", cell)
    dropout = arguments.fraction("dropout", dropout)

    inputs = keras.Input(shape=(None,), dtype="int32", name="character_ids")
    hidden = keras.layers.Embedding(vocabulary_size, embedding_dim, name="embedding")(inputs)
    hidden = recurrent_stack(hidden, cell, units, dropout=dropout, return_sequences=True)
    outputs = keras.layers.Dense(vocabulary_size, activation="softmax",
                                 name="next_character_probabilities", dtype=OUTPUT_DTYPE)(hidden)
    return keras.Model(inputs, outputs, name=arguments.model_name(name, "char_rnn"))
