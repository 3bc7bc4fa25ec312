"""Inference loops: sampling text from char_rnn, greedy decoding with seq2seq."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import kerazoo
from kerazoo.generate import _OneStepAtATime, greedy_decode, sample_text

VOCABULARY = ["", "a", "b", "c", "d"]  # id 0 is padding
START, END = 1, 2


@pytest.mark.parametrize("cell", ["simple_rnn", "lstm", "gru"])
def test_stepping_one_character_at_a_time_matches_a_pass_over_the_whole_text(cell):
    keras.utils.set_random_seed(0)
    model = kerazoo.build("char_rnn", vocabulary_size=5, embedding_dim=3, units=[6, 4],
                          cell=cell, dropout=0.2)
    ids = [1, 3, 2, 4, 4, 1]
    step = _OneStepAtATime(model)
    stepped = np.stack([step(character_id) for character_id in ids])
    whole = keras.ops.convert_to_numpy(model(np.array([ids], dtype="int32")))[0]
    np.testing.assert_allclose(stepped, whole, rtol=1e-4, atol=1e-6)


@pytest.fixture(scope="module")
def abcd_model() -> keras.Model:
    """A char_rnn trained on "abcdabcd...": its language is "each letter is followed by the
    next"."""
    keras.utils.set_random_seed(0)
    text = np.array([1, 2, 3, 4] * 40, dtype="int32")
    windows = np.stack([text[start:start + 9] for start in range(0, 150)])
    model = kerazoo.build("char_rnn", vocabulary_size=5, embedding_dim=4, units=[16],
                          cell="gru")
    model.compile(optimizer=keras.optimizers.Adam(2e-2), loss="sparse_categorical_crossentropy")
    model.fit(windows[:, :-1], windows[:, 1:], batch_size=50, epochs=15, verbose=0)
    return model


def test_a_trained_char_rnn_continues_its_language(abcd_model):
    assert sample_text(abcd_model, VOCABULARY, "bc", length=10, temperature=0) == "bcdabcdabcda"
    sampled = sample_text(abcd_model, VOCABULARY, "a", length=40, temperature=0.5, seed=0)
    assert sampled.startswith("a") and len(sampled) == 41
    assert "abcd" * 5 in sampled


def test_sampling_is_reproducible_with_a_seed_and_works_on_a_reloaded_model(abcd_model,
                                                                             tmp_path):
    abcd_model.save(tmp_path / "model.keras")
    reloaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    mapping = {character: index for index, character in enumerate(VOCABULARY) if index}
    first = sample_text(abcd_model, VOCABULARY, "ab", length=30, temperature=2.0, seed=7)
    again = sample_text(reloaded, mapping, "ab", length=30, temperature=2.0, seed=7)
    assert first == again


def test_padding_is_never_sampled():
    keras.utils.set_random_seed(0)
    model = kerazoo.build("char_rnn", vocabulary_size=3, embedding_dim=2, units=[4])
    text = sample_text(model, ["#", "a", "b"], "ab", length=200, temperature=3.0, seed=0)
    assert set(text) == {"a", "b"}


def test_sample_text_checks_its_arguments(abcd_model):
    with pytest.raises(kerazoo.KerazooError, match=r"outside the vocabulary: 'xz'"):
        sample_text(abcd_model, VOCABULARY, "axz")
    with pytest.raises(kerazoo.KerazooError, match=r"Received: temperature=-1"):
        sample_text(abcd_model, VOCABULARY, "a", temperature=-1)
    with pytest.raises(kerazoo.KerazooError, match=r"as many entries as the model has outputs"):
        sample_text(abcd_model, VOCABULARY[:3], "a")
    with pytest.raises(kerazoo.KerazooError, match=r"Received: prompt=''"):
        sample_text(abcd_model, VOCABULARY, "")
    with pytest.raises(kerazoo.KerazooError, match=r"char_rnn-like model"):
        sample_text(kerazoo.build("seq2seq", vocabulary_size=5), VOCABULARY, "a")


def naive_greedy_decode(model, sources, max_length):
    """Greedy decoding the obvious way: the decoder input grows by one token per step."""
    decoder = np.full((len(sources), 1), START, dtype="int32")
    for _ in range(max_length):
        probabilities = keras.ops.convert_to_numpy(model((sources, decoder)))[:, -1]
        probabilities[:, 0] = -1
        decoder = np.concatenate([decoder, probabilities.argmax(axis=-1)[:, None]], axis=1)
    generated = []
    for row in decoder[:, 1:].tolist():
        row = row[:row.index(END)] if END in row else row
        generated.append(row + [0] * (max_length - len(row)))
    return np.array(generated)


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_greedy_decoding_with_a_fixed_buffer_equals_growing_the_decoder_input(cell):
    keras.utils.set_random_seed(0)
    model = kerazoo.build("seq2seq", vocabulary_size=6, embedding_dim=4, units=8, cell=cell)
    sources = np.random.default_rng(0).integers(3, 6, size=(4, 5)).astype("int32")
    decoded = greedy_decode(model, sources, START, END, max_length=7)
    expected = naive_greedy_decode(model, sources, 7)
    np.testing.assert_array_equal(decoded, expected)
    np.testing.assert_array_equal(greedy_decode(model, sources[0], START, END, 7), expected[0])


def test_source_padding_changes_nothing():
    keras.utils.set_random_seed(0)
    model = kerazoo.build("seq2seq", vocabulary_size=6, embedding_dim=4, units=8)
    decoder = np.array([[START, 3, 4]], dtype="int32")
    short = model((np.array([[3, 5]], dtype="int32"), decoder))
    padded = model((np.array([[3, 5, 0, 0]], dtype="int32"), decoder))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(padded),
                               keras.ops.convert_to_numpy(short), rtol=1e-5)


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_seq2seq_learns_to_reverse_sequences_and_decodes_them_greedily(cell):
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    sources = rng.integers(3, 7, size=(512, 3)).astype("int32")
    targets = sources[:, ::-1]
    decoder_input = np.concatenate([np.full((512, 1), START), targets], axis=1).astype("int32")
    decoder_target = np.concatenate([targets, np.full((512, 1), END)], axis=1).astype("int32")
    model = kerazoo.build("seq2seq", vocabulary_size=7, embedding_dim=8, units=32, cell=cell)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
    model.fit((sources, decoder_input), decoder_target, batch_size=64, epochs=20, verbose=0)

    unseen = rng.integers(3, 7, size=(20, 3)).astype("int32")
    decoded = greedy_decode(model, unseen, START, END, max_length=6)
    np.testing.assert_array_equal(decoded[:, :3], unseen[:, ::-1])
    assert (decoded[:, 3:] == 0).all()  # the end token was produced and stripped


def test_greedy_decode_checks_its_arguments():
    model = kerazoo.build("seq2seq", vocabulary_size=6, embedding_dim=4, units=8)
    with pytest.raises(kerazoo.KerazooError, match=r"Received: start_id=0"):
        greedy_decode(model, [[3, 4]], 0, END)
    with pytest.raises(kerazoo.KerazooError, match=r"Received: max_length=-1"):
        greedy_decode(model, [[3, 4]], START, END, max_length=-1)
    with pytest.raises(kerazoo.KerazooError, match=r"`encoder_ids`"):
        greedy_decode(model, [], START, END)
