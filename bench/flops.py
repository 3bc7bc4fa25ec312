"""FLOPs of one training step, counted from a Keras model, for bench/throughput.py's "% of
peak" column: the dense, convolutional and recurrent matmuls, which are nearly all the
arithmetic; element-wise work (activations, pooling, the optimizer's update) is left out."""

from __future__ import annotations

import math

import keras

RECURRENT_GATES = {"LSTM": 4, "GRU": 3, "SimpleRNN": 1}


def _positions(shape) -> int:
    """How many times a per-feature operation is applied per example (steps, pixels)."""
    return math.prod(int(side) for side in shape[1:-1]) if len(shape) > 2 else 1


def forward_flops(model: keras.Model) -> int:
    """2 × the multiply-adds of one example's forward pass."""
    flops = 0
    for layer in model.layers:
        name = type(layer).__name__
        if name == "Dense":
            inputs = layer.input.shape
            flops += 2 * inputs[-1] * layer.units * _positions(inputs)
        elif name in ("Conv2D", "Conv2DTranspose"):
            kernel = math.prod(layer.kernel_size)
            fan_in = layer.input.shape[-1] // getattr(layer, "groups", 1)
            # A convolution computes at its output's pixels, a transposed one at its input's.
            pixels = _positions(layer.output.shape if name == "Conv2D" else layer.input.shape)
            flops += 2 * kernel * fan_in * layer.filters * pixels
        elif name in RECURRENT_GATES:
            inputs = layer.input  # a list when a mask travels with it (after an Embedding)
            inputs = (inputs[0] if isinstance(inputs, list) else inputs).shape
            # (batch, steps, features): each step, every gate
            flops += (2 * RECURRENT_GATES[name] * (inputs[-1] + layer.units) * layer.units
                      * inputs[1])
    return int(flops)


def training_flops(model: keras.Model) -> int:
    """Per example and training step: the forward matmuls, and twice as many backward (the
    gradients with respect to the inputs and to the weights), so 3× the forward."""
    return 3 * forward_flops(model)
