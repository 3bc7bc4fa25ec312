"""Matrix factorization: a rating is the dot product of a user's and an item's factors plus
a bias for each, the model of the Netflix prize and of the HOGWILD! paper's matrix-completion
experiments. Everything it learns is an Embedding table, so one rating's gradient touches
one row of each table: the sparse updates lock-free SGD thrives on."""

from __future__ import annotations

import keras

from kerazoo import arguments
from kerazoo.registry import register_model


@register_model(task="regression", input_kind="tokens", family="matrix_factorization",
                tiny={"users": 12, "items": 10, "factors": 4})
def matrix_factorization(users=1000, items=1000, factors=32,
                         initial_scale=0.1, name=None) -> keras.Model:
    """Inputs `user` and `item` (int32 ids), output the predicted rating, shape (batch, 1).

    `initial_scale` is the standard deviation of the initial factors: small, so every
    rating starts near zero, but not zero, which would leave every gradient zero too.
    """
    users = arguments.int_at_least("users", users, 1)
    items = arguments.int_at_least("items", items, 1)
    factors = arguments.positive_int("factors", factors)
    initial_scale = arguments.non_negative("initial_scale", initial_scale)
    initializer = keras.initializers.RandomNormal(stddev=initial_scale)
    user = keras.Input(shape=(), dtype="int32", name="user")
    item = keras.Input(shape=(), dtype="int32", name="item")
    user_factors = keras.layers.Embedding(users, factors, embeddings_initializer=initializer,
                                          name="user_factors")(user)
    item_factors = keras.layers.Embedding(items, factors, embeddings_initializer=initializer,
                                          name="item_factors")(item)
    user_bias = keras.layers.Embedding(users, 1, embeddings_initializer="zeros",
                                       name="user_bias")(user)
    item_bias = keras.layers.Embedding(items, 1, embeddings_initializer="zeros",
                                       name="item_bias")(item)
    dot = keras.layers.Dot(axes=-1, name="dot")([user_factors, item_factors])
    # float32 under a mixed-precision policy, as every zoo output (Keras' guide).
    rating = keras.layers.Add(name="rating", dtype="float32")([dot, user_bias, item_bias])
    return keras.Model([user, item], rating,
                       name=arguments.model_name(name, "matrix_factorization"))
