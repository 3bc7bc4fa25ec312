"""Inference loops for the generative models: sampling text from a character-level language
model (`char_rnn`) and greedy decoding with an encoder-decoder (`seq2seq`).

Both work on freshly built, trained or reloaded `.keras` models alike, and use only Keras
calls, so they run on every backend.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import keras
import numpy as np

from kerazoo import arguments
from kerazoo.errors import KerazooError

PADDING_ID = 0
# Layers sample_text knows how to run one step at a time (the layers char_rnn is made of).
STEPPABLE_LAYERS = (keras.layers.Embedding, keras.layers.RNN, keras.layers.Dropout,
                    keras.layers.Dense)


def _characters_by_id(vocabulary: Sequence[str] | Mapping[str, int]) -> list[str]:
    """The text of every id; a mapping {character: id} is turned around."""
    if isinstance(vocabulary, Mapping):
        characters = [""] * (max(vocabulary.values(), default=0) + 1)
        for character, index in vocabulary.items():
            characters[index] = character
        return characters
    if isinstance(vocabulary, str | Sequence) and len(vocabulary) > 1:
        return list(vocabulary)
    raise arguments.fail("vocabulary", "the characters in id order (id 0 = padding), or a "
                         "mapping {character: id}", vocabulary)


class _Step(keras.Model):
    """One character through the chain: (ids, *states) -> (probabilities, *new states).
    A model of its own so that `predict_on_batch` compiles it (a functional model cannot
    hold two cells of one default name, as a stack of GRU layers has)."""

    def __init__(self, layers: list[keras.layers.Layer]):
        super().__init__(name="sampling_step")
        self.chain = layers

    def call(self, inputs):
        hidden, states = inputs[0], list(inputs[1:])
        new_states = []
        for layer in self.chain:
            if isinstance(layer, keras.layers.RNN):
                count = len(keras.tree.flatten(layer.cell.state_size))
                hidden, after = layer.cell(hidden, states[:count], training=False)
                states = states[count:]
                new_states += keras.tree.flatten(after)
            elif not isinstance(layer, keras.layers.Dropout):
                hidden = layer(hidden)
        return [hidden, *new_states]


class _OneStepAtATime:
    """Runs a char_rnn-style chain one character at a time for a batch of texts, carrying the
    recurrent states, so generating n characters costs n steps rather than n full passes.

    The step is a small model over the trained layers, run with `predict_on_batch`: one
    compiled function per sampler, where calling the layers eagerly cost milliseconds per
    step (a report's 1,360 steps took about 20 s on 2 cores)."""

    def __init__(self, model: keras.Model, batch: int = 1):
        layers = [layer for layer in model.layers
                  if not isinstance(layer, keras.layers.InputLayer)]
        for layer in layers:
            if not isinstance(layer, STEPPABLE_LAYERS) or isinstance(
                    layer, keras.layers.Bidirectional):
                raise KerazooError(
                    f"sample_text needs a char_rnn-like model (embedding, recurrent, dropout "
                    f"and dense layers in a chain); model {model.name!r} has layer "
                    f"{layer.name!r} of type {type(layer).__name__}")
        self.step = _Step(layers)
        self.states = [keras.ops.convert_to_numpy(state)
                       for layer in layers if isinstance(layer, keras.layers.RNN)
                       for state in layer.cell.get_initial_state(batch)]

    def __call__(self, character_ids: int | Sequence[int]) -> np.ndarray:
        """The next-character probabilities after reading `character_ids` (one id per text
        in the batch; a single id for a batch of one): shape (vocabulary,) for a single id,
        (batch, vocabulary) otherwise."""
        ids = np.asarray(character_ids, dtype="int32")
        outputs = self.step.predict_on_batch([ids.reshape(-1), *self.states])
        self.states = [np.asarray(state) for state in outputs[1:]]
        probabilities = np.asarray(outputs[0], dtype="float64")
        return probabilities[0] if ids.ndim == 0 else probabilities


def _pick(probabilities: np.ndarray, temperature: float, rng: np.random.Generator) -> int:
    probabilities[PADDING_ID] = 0.0  # padding is not a character
    if temperature == 0:
        return int(np.argmax(probabilities))
    # p ** (1 / T), renormalized: softmax(log p / T) without the overflow.
    with np.errstate(divide="ignore"):
        logits = np.log(probabilities) / temperature
    weights = np.exp(logits - logits.max())
    return int(rng.choice(len(weights), p=weights / weights.sum()))


def sample_text(model: keras.Model, vocabulary: Sequence[str] | Mapping[str, int],
                prompt: str, length: int = 200, temperature: float = 1.0,
                seed: int | None = None) -> str:
    """`prompt` followed by `length` characters sampled from a char_rnn `model`.

    `vocabulary` lists the characters in id order (entry 0, padding, is never produced) or
    maps each character to its id. `temperature` rescales the model's distribution: 1
    samples it as is, lower values are more conservative, 0 always takes the most likely
    character. `seed` makes the sample reproducible.
    """
    return sample_texts(model, vocabulary, prompt, length, [temperature], [seed])[0]


def sample_texts(model: keras.Model, vocabulary: Sequence[str] | Mapping[str, int],
                 prompt: str, length: int = 200, temperatures: Sequence[float] = (1.0,),
                 seeds: Sequence[int | None] | None = None) -> list[str]:
    """One `sample_text` per temperature, from the same prompt, computed as one batch (a
    report's four temperatures cost about what one does). Text i is the text
    `sample_text(..., temperature=temperatures[i], seed=seeds[i])` gives."""
    characters = _characters_by_id(vocabulary)
    if not isinstance(prompt, str) or not prompt:
        raise arguments.fail("prompt", "a non-empty string (the model needs a first "
                             "character to condition on)", prompt)
    length = arguments.int_at_least("length", length, 0)
    temperatures = [arguments.non_negative("temperature", value) for value in temperatures]
    if not temperatures:
        raise arguments.fail("temperatures", "at least one temperature", temperatures)
    seeds = list(seeds) if seeds is not None else [None] * len(temperatures)
    if len(seeds) != len(temperatures):
        raise arguments.fail("seeds", f"one seed per temperature ({len(temperatures)})", seeds)
    ids = {character: index for index, character in enumerate(characters) if index}
    unknown = sorted({character for character in prompt if character not in ids})
    if unknown:
        raise KerazooError(f"`prompt` has characters outside the vocabulary: "
                           f"{''.join(unknown)!r}. Received: prompt={prompt!r}")
    output_size = model.output_shape[-1]
    if output_size != len(characters):
        raise KerazooError(f"`vocabulary` must have as many entries as the model has outputs "
                           f"({output_size}). Received: {len(characters)} entries")

    batch = len(temperatures)
    step = _OneStepAtATime(model, batch)
    generators = [np.random.default_rng(seed) for seed in seeds]
    for character in prompt[:-1]:
        step([ids[character]] * batch)
    generated = [[] for _ in range(batch)]
    next_ids = [ids[prompt[-1]]] * batch
    for _ in range(length):
        probabilities = step(next_ids)
        next_ids = [_pick(row, temperature, generator) for row, temperature, generator
                    in zip(probabilities, temperatures, generators, strict=True)]
        for text, next_id in zip(generated, next_ids, strict=True):
            text.append(characters[next_id])
    return [prompt + "".join(text) for text in generated]


def greedy_decode(model: keras.Model, encoder_ids: Any, start_id: int, end_id: int,
                  max_length: int = 50) -> np.ndarray:
    """Translate a batch of source sequences with a seq2seq `model`, taking the most likely
    token at every step and feeding it back as the next decoder input.

    `encoder_ids` has shape (batch, steps) or (steps,). Returns the generated ids, shape
    (batch, max_length) or (max_length,), without the start and end tokens and padded with 0
    after the end token. Padding is never predicted.

    The decoder input is a fixed (batch, max_length) buffer filled in place, so the model
    runs on one shape throughout and compiles once; later (still empty, hence masked)
    positions cannot influence earlier ones because the decoder reads left to right.
    """
    start_id = arguments.positive_int("start_id", start_id)
    end_id = arguments.positive_int("end_id", end_id)
    max_length = arguments.positive_int("max_length", max_length)
    source = np.asarray(encoder_ids, dtype="int32")
    if source.ndim not in (1, 2) or source.size == 0:
        raise arguments.fail("encoder_ids", "a non-empty array of shape (batch, steps) or "
                             "(steps,)", encoder_ids)
    single = source.ndim == 1
    source = source[None] if single else source

    batch = len(source)
    decoder_input = np.zeros((batch, max_length), dtype="int32")
    decoder_input[:, 0] = start_id
    generated = np.zeros((batch, max_length), dtype="int32")
    finished = np.zeros(batch, dtype=bool)
    for position in range(max_length):
        probabilities = keras.ops.convert_to_numpy(
            model.predict_on_batch((source, decoder_input)))[:, position]
        probabilities[:, PADDING_ID] = -1.0
        tokens = probabilities.argmax(axis=-1).astype("int32")
        finished |= tokens == end_id
        generated[:, position] = np.where(finished, 0, tokens)
        if finished.all():
            break
        if position + 1 < max_length:
            decoder_input[:, position + 1] = tokens
    return generated[0] if single else generated
