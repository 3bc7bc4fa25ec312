"""Model builders. Importing this package registers every family and kerazoo's custom layers
(which `.keras` files saved from these models need to reload).

Each builder is a plain function returning an uncompiled `keras.Model`, importable directly
(`from kerazoo.models import alexnet`) or built by name (`kerazoo.build("alexnet")`).
"""

from kerazoo.models.alexnet import alexnet, alexnet_cifar
from kerazoo.models.autoencoder import conv_denoising_autoencoder, denoising_autoencoder
from kerazoo.models.char_rnn import char_rnn
from kerazoo.models.layers import Corruption, LocalResponseNormalization, RepeatAlongSteps
from kerazoo.models.linear import linear_regression, logistic_regression
from kerazoo.models.matrix_factorization import matrix_factorization
from kerazoo.models.mlp import mlp
from kerazoo.models.seq2seq import seq2seq
from kerazoo.models.sequence import (
    gru_classifier,
    gru_forecaster,
    lstm_classifier,
    lstm_forecaster,
)

__all__ = [
    "Corruption",
    "LocalResponseNormalization",
    "RepeatAlongSteps",
    "alexnet",
    "alexnet_cifar",
    "char_rnn",
    "conv_denoising_autoencoder",
    "denoising_autoencoder",
    "gru_classifier",
    "gru_forecaster",
    "linear_regression",
    "logistic_regression",
    "lstm_classifier",
    "lstm_forecaster",
    "matrix_factorization",
    "mlp",
    "seq2seq",
]
