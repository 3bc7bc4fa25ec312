"""The same network in PyTorch, for bench/throughput.py: a built Keras model translated layer
by layer into `torch.nn` modules of the same sizes, so the comparison is of the frameworks,
not of two hand-written architectures that drift apart.

Only chains of layers are translated (one input, each layer feeding the next), which is every
recipe's model but seq2seq's two-input encoder-decoder; `translate` raises `Untranslatable`
naming the layer otherwise. The differences are the ones a PyTorch author would make anyway:
images are channels-first (the batch is permuted once on the way in), and a softmax output is
left as logits for `CrossEntropyLoss`, which fuses the log-softmax into the loss.

"""

from __future__ import annotations

import math

import keras
import torch
from torch import nn

ACTIVATIONS = {"linear": nn.Identity, "relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh,
               "softmax": nn.Identity, "gelu": nn.GELU, "elu": nn.ELU, "selu": nn.SELU}
OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD,
              "rmsprop": torch.optim.RMSprop}


class Untranslatable(Exception):
    """The model has a layer or a shape this translator does not cover."""


class Last(nn.Module):
    """A recurrent layer's output at the last step (Keras' return_sequences=False)."""

    def forward(self, outputs):
        return outputs[:, -1]


class Recurrent(nn.Module):
    """nn.LSTM / nn.GRU returning only the outputs, as Keras' layers do."""

    def __init__(self, layer: nn.Module):
        super().__init__()
        self.layer = layer

    def forward(self, inputs):
        return self.layer(inputs)[0]


class GaussianCorruption(nn.Module):
    """kerazoo's Corruption layer, gaussian kind: fresh noise in training only."""

    def __init__(self, level: float):
        super().__init__()
        self.level = level

    def forward(self, inputs):
        return inputs + self.level * torch.randn_like(inputs) if self.training else inputs


class ChannelsFirst(nn.Module):
    def forward(self, inputs):
        return inputs.permute(0, 3, 1, 2)


def _activation(name: str) -> nn.Module:
    if name not in ACTIVATIONS:
        raise Untranslatable(f"activation {name!r}")
    return ACTIVATIONS[name]()


def _same_padding(kernel: int, stride: int) -> int:
    # Symmetric padding giving Keras' 'same' output size (ceil(side / stride)) for the odd
    # kernels the zoo uses; TensorFlow pads the extra pixel on one side instead.
    return (kernel - 1) // 2 if stride > 1 else kernel // 2


def _layer(layer: keras.layers.Layer) -> list[nn.Module]:
    config, name = layer.get_config(), type(layer).__name__
    if name == "Dropout":
        return [nn.Dropout(config["rate"])]
    if name == "Dense":
        fan_in = layer.input.shape[-1]
        return [nn.Linear(fan_in, config["units"]), _activation(config["activation"])]
    if name == "Activation":
        return [_activation(config["activation"])]
    if name == "Embedding":
        return [nn.Embedding(config["input_dim"], config["output_dim"])]
    if name in ("LSTM", "GRU"):
        cell = nn.LSTM if name == "LSTM" else nn.GRU
        modules = [Recurrent(cell(layer.input.shape[-1], config["units"], batch_first=True))]
        return modules + ([] if config["return_sequences"] else [Last()])
    if name == "Corruption" and config["noise"] == "gaussian":
        return [GaussianCorruption(config["noise_level"])]
    if name in ("Conv2D", "Conv2DTranspose"):
        (kernel, _), (stride, _) = config["kernel_size"], config["strides"]
        channels_in = layer.input.shape[-1]
        same = config["padding"] == "same"
        if name == "Conv2D":
            padding = _same_padding(kernel, stride) if same else 0
            conv = nn.Conv2d(channels_in, config["filters"], kernel, stride, padding,
                             groups=config.get("groups", 1))
        else:  # 'same' transposed: output side = input side * stride
            padding = math.ceil((kernel - stride) / 2) if same else 0
            conv = nn.ConvTranspose2d(channels_in, config["filters"], kernel, stride, padding,
                                      output_padding=2 * padding + stride - kernel if same else 0)
        return [conv, _activation(config["activation"])]
    if name == "MaxPooling2D":
        (size, _), (stride, _) = config["pool_size"], config["strides"]
        return [nn.MaxPool2d(size, stride, _same_padding(size, stride)
                             if config["padding"] == "same" else 0)]
    if name == "Flatten":
        return [nn.Flatten()]
    raise Untranslatable(f"layer {layer.name!r} ({name})")


def translate(model: keras.Model) -> nn.Sequential:
    """`model` as an nn.Sequential of the same layer sizes; raises Untranslatable."""
    if len(model.inputs) != 1:
        raise Untranslatable(f"{len(model.inputs)} inputs")
    images = len(model.inputs[0].shape) == 4
    modules: list[nn.Module] = [ChannelsFirst()] if images else []
    previous = model.inputs[0]
    for layer in model.layers:
        if type(layer).__name__ == "InputLayer":
            continue
        if isinstance(layer.input, list | tuple):  # gru_classifier's GRU reads its mask
            raise Untranslatable(f"layer {layer.name!r} reads {len(layer.input)} tensors "
                                 "(a padding mask, a branch); a chain of layers is translated")
        if layer.input is not previous:
            raise Untranslatable(f"layer {layer.name!r} does not read the layer before it")
        modules += _layer(layer)
        previous = layer.output
    return nn.Sequential(*modules)


def softmax_output(model: keras.Model) -> bool:
    return model.layers[-1].get_config().get("activation") == "softmax"


def loss_function(loss: str, model: keras.Model):
    """Keras' loss name as the PyTorch loss on the translated model's outputs."""
    if loss == "sparse_categorical_crossentropy" and softmax_output(model):
        cross_entropy = nn.CrossEntropyLoss()

        def sequence_cross_entropy(logits, targets):  # (batch, steps, classes) or (batch, classes)
            return cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))

        return sequence_cross_entropy
    if loss in ("mse", "mean_squared_error"):
        mse = nn.MSELoss()

        def images_last(outputs, targets):  # the translated convolutions end channels-first
            if outputs.dim() == 4:
                outputs = outputs.permute(0, 2, 3, 1)
            return mse(outputs, targets)

        return images_last
    raise Untranslatable(f"loss {loss!r}")


def optimizer(name: str, parameters, learning_rate: float, kwargs: dict):
    if name not in OPTIMIZERS:
        raise Untranslatable(f"optimizer {name!r}")
    return OPTIMIZERS[name](parameters, lr=learning_rate, **kwargs)
