"""Recurrent families: cell choice, stacking, bidirectional layers, token or numeric input,
padding, and forecasts one or several steps ahead."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import kerazoo


def predict(model, x):
    return keras.ops.convert_to_numpy(model(x, training=False))


@pytest.mark.parametrize("name", ["simple_rnn_classifier", "lstm_classifier",
                                  "gru_classifier"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_token_classifiers_ignore_padding(name, bidirectional):
    keras.utils.set_random_seed(0)
    model = kerazoo.build(name, vocabulary_size=10, embedding_dim=4, units=[6, 5],
                          bidirectional=bidirectional, num_classes=3)
    short = np.array([[3, 4, 2]], dtype="int32")
    padded = np.array([[3, 4, 2, 0, 0, 0]], dtype="int32")
    np.testing.assert_allclose(predict(model, padded), predict(model, short), rtol=1e-5)
    assert predict(model, short).shape == (1, 3)


def test_classifiers_read_numbers_when_the_input_has_a_feature_axis():
    model = kerazoo.build("lstm_classifier", input_shape=(None, 3), units=[4], num_classes=2)
    assert model.input.dtype == "float32"
    assert not any(isinstance(layer, keras.layers.Embedding) for layer in model.layers)
    probabilities = predict(model, np.ones((2, 7, 3), dtype="float32"))
    np.testing.assert_allclose(probabilities.sum(axis=-1), 1.0, rtol=1e-6)


def test_stacked_and_bidirectional_layers_are_what_was_asked():
    model = kerazoo.build("gru_classifier", units=[8, 4], bidirectional=True)
    recurrent = [layer for layer in model.layers if isinstance(layer, keras.layers.Bidirectional)]
    assert [layer.forward_layer.units for layer in recurrent] == [8, 4]
    assert all(isinstance(layer.forward_layer, keras.layers.GRU) for layer in recurrent)
    assert recurrent[0].forward_layer.return_sequences
    assert not recurrent[1].forward_layer.return_sequences


@pytest.mark.parametrize("name", ["lstm_forecaster", "gru_forecaster"])
@pytest.mark.parametrize("horizon", [1, 5])
def test_forecasters_predict_horizon_steps_from_windows_of_any_length(name, horizon):
    model = kerazoo.build(name, input_shape=(None, 2), units=[4], horizon=horizon)
    for steps in (3, 11):
        assert predict(model, np.zeros((4, steps, 2), dtype="float32")).shape == (4, horizon)


def test_a_forecaster_learns_a_sine_wave_several_steps_ahead():
    keras.utils.set_random_seed(0)
    series = np.sin(np.arange(400) * 0.3).astype("float32")
    window, horizon = 12, 3
    starts = np.arange(len(series) - window - horizon)
    x = np.stack([series[s:s + window] for s in starts])[..., None]
    y = np.stack([series[s + window:s + window + horizon] for s in starts])
    model = kerazoo.build("gru_forecaster", input_shape=(window, 1), units=[16],
                          horizon=horizon)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mean_squared_error")
    model.fit(x, y, batch_size=64, epochs=15, verbose=0)
    assert model.evaluate(x, y, verbose=0) < 0.01  # the series' variance is 0.5


def test_unknown_cells_and_bad_shapes_are_refused_with_the_accepted_values():
    with pytest.raises(kerazoo.KerazooError, match=r"'gru', 'lstm'. Received: cell='transformer'"):
        kerazoo.build("seq2seq", cell="transformer")
    with pytest.raises(kerazoo.KerazooError, match=r"did you mean 'gru'.*Received: cell='gur'"):
        kerazoo.build("char_rnn", cell="gur")
    with pytest.raises(kerazoo.KerazooError, match=r"Received: input_shape=\(None,\)"):
        kerazoo.build("lstm_forecaster", input_shape=(None,))
    with pytest.raises(kerazoo.KerazooError, match=r"Received: input_shape=\[None, 0\]"):
        kerazoo.build("gru_classifier", input_shape=[None, 0])


@pytest.mark.parametrize("cell, layer_class", [("simple_rnn", keras.layers.SimpleRNN),
                                                ("lstm", keras.layers.LSTM),
                                                ("gru", keras.layers.GRU)])
def test_char_rnn_uses_the_named_cell_and_predicts_every_step(cell, layer_class):
    model = kerazoo.build("char_rnn", vocabulary_size=7, embedding_dim=3, units=[5, 4],
                          cell=cell, dropout=0.1)
    layers = [layer for layer in model.layers if isinstance(layer, keras.layers.RNN)]
    assert [type(layer) for layer in layers] == [layer_class, layer_class]
    probabilities = predict(model, np.ones((2, 9), dtype="int32"))
    assert probabilities.shape == (2, 9, 7)
    np.testing.assert_allclose(probabilities.sum(axis=-1), 1.0, rtol=1e-5)
