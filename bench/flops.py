"""FLOPs of one training step, counted from a Keras model, for bench/throughput.py's "% of
peak" column: the dense, convolutional and recurrent matmuls, which are nearly all the
arithmetic; element-wise work (activations, pooling, the optimizer's update) is left out."""

from __future__ import annotations

import math

import keras

RECURRENT_GATES = {"LSTM": 4, "GRU": 3, "SimpleRNN": 1}


def _positions(shape, steps: int | None) -> int | None:
    """How many times a per-feature operation is applied per example (steps, pixels); an
    unknown side is `steps` (None if that is unknown too)."""
    sides = [steps if side is None else int(side) for side in shape[1:-1]]
    return None if None in sides else math.prod(sides)


def forward_flops(model: keras.Model, steps: int | None = None) -> int | None:
    """2 × the multiply-adds of one example's forward pass; None when a recurrent layer's
    step count is neither in the model nor given (`steps`: the data's sequence length, for a
    model that takes any length and has one input)."""
    flops = 0
    for layer in model.layers:
        name = type(layer).__name__
        if name == "Dense":
            inputs = layer.input.shape
            positions = _positions(inputs, steps)
            if positions is None:
                return None
            flops += 2 * inputs[-1] * layer.units * positions
        elif name in ("Conv2D", "Conv2DTranspose"):
            kernel = math.prod(layer.kernel_size)
            fan_in = layer.input.shape[-1] // getattr(layer, "groups", 1)
            # A convolution computes at its output's pixels, a transposed one at its input's.
            pixels = _positions(layer.output.shape if name == "Conv2D" else layer.input.shape,
                                steps)
            if pixels is None:
                return None
            flops += 2 * kernel * fan_in * layer.filters * pixels
        elif name in RECURRENT_GATES:
            inputs = layer.input  # a list when a mask travels with it (after an Embedding)
            inputs = (inputs[0] if isinstance(inputs, list) else inputs).shape
            # (batch, steps, features): each step, every gate
            length = inputs[1] if inputs[1] is not None else steps
            if length is None:
                return None
            flops += (2 * RECURRENT_GATES[name] * (inputs[-1] + layer.units) * layer.units
                      * length)
    return int(flops)


def training_flops(model: keras.Model, steps: int | None = None) -> int | None:
    """Per example and training step: the forward matmuls, and twice as many backward (the
    gradients with respect to the inputs and to the weights), so 3× the forward."""
    forward = forward_flops(model, steps)
    return None if forward is None else 3 * forward
