"""RNN encoder-decoder after Cho et al. (2014), "Learning Phrase Representations using RNN
Encoder-Decoder for Statistical Machine Translation".

The encoder reads the source into one context vector c (its last hidden state). What makes
it Cho's design rather than a plain state hand-over: the decoder starts from tanh(V c), sees
c again at every step next to the previous token, and predicts each token from its state,
the previous token and c together. Training is teacher-forced (the decoder reads the true
previous tokens); `kerazoo.generate.greedy_decode` feeds back its own predictions instead.
"""

from __future__ import annotations

import keras

from kerazoo import arguments
from kerazoo.arguments import OUTPUT_DTYPE
from kerazoo.models.layers import RepeatAlongSteps
from kerazoo.models.recurrent import cell_name, recurrent_layer
from kerazoo.registry import register_model


@register_model(task="sequence_to_sequence", input_kind="token_pairs", family="seq2seq",
                tiny={"vocabulary_size": 6, "embedding_dim": 8, "units": 16})
def seq2seq(vocabulary_size=64, embedding_dim=64, units=256, cell="gru",
            dropout=0.0, name=None) -> keras.Model:
    """Inputs: (encoder_ids, decoder_ids), each (batch, steps) of any lengths, id 0 = padding
    (masked: padded source steps do not change the context, padded target steps do not count
    in the loss). decoder_ids are the targets shifted right behind a start token. Output: a
    softmax over the shared vocabulary at every decoder step. `cell` is "gru" (the paper's
    gated unit) or "lstm".
    """
    vocabulary_size = arguments.int_at_least("vocabulary_size", vocabulary_size, 2)
    embedding_dim = arguments.positive_int("embedding_dim", embedding_dim)
    units = arguments.positive_int("units", units)
    cell = cell_name("cell", cell, choices=("gru", "lstm"))
    dropout = arguments.fraction("dropout", dropout)

    def dropped(tensor, name):
        return keras.layers.Dropout(dropout, name=name)(tensor) if dropout else tensor

    encoder_ids = keras.Input(shape=(None,), dtype="int32", name="encoder_ids")
    decoder_ids = keras.Input(shape=(None,), dtype="int32", name="decoder_ids")

    source = keras.layers.Embedding(vocabulary_size, embedding_dim, mask_zero=True,
                                    name="encoder_embedding")(encoder_ids)
    context = recurrent_layer(cell, units, name="encoder")(dropped(source, "encoder_dropout"))

    previous = keras.layers.Embedding(vocabulary_size, embedding_dim, mask_zero=True,
                                      name="decoder_embedding")(decoder_ids)
    previous = dropped(previous, "decoder_dropout")
    context_at_steps = RepeatAlongSteps(name="context_at_every_step")([context, previous])
    initial_state = [keras.layers.Dense(units, activation="tanh",
                                        name="decoder_initial_state")(context)]
    if cell == "lstm":  # an LSTM also carries a memory cell; it starts from c too
        initial_state.append(keras.layers.Dense(units, name="decoder_initial_memory")(context))
    decoder_input = keras.layers.Concatenate(name="decoder_input")([previous, context_at_steps])
    states = recurrent_layer(cell, units, return_sequences=True, name="decoder")(
        decoder_input, initial_state=initial_state)
    readout = keras.layers.Concatenate(name="readout")(
        [dropped(states, "readout_dropout"), previous, context_at_steps])
    outputs = keras.layers.Dense(vocabulary_size, activation="softmax",
                                 name="next_token_probabilities", dtype=OUTPUT_DTYPE)(readout)
    return keras.Model([encoder_ids, decoder_ids], outputs,
                       name=arguments.model_name(name, "seq2seq"))
