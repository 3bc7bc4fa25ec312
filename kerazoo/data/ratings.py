"""Generated ratings of a low-rank matrix: the matrix-completion problem of the HOGWILD! paper
(Niu, Recht, Ré & Wright, 2011), where Netflix-style ratings are fitted by user and item
factors. Generated, not downloaded: a seeded draw, the same bytes on every machine.

Every user and item has `rank` hidden factors and a bias; a rating is their dot product plus
both biases plus Gaussian noise, so the best achievable mean squared error is `noise**2`.
Ratings are centred (zero mean), as matrix factorization without a global bias expects.
"""

from __future__ import annotations

import numpy as np

from kerazoo import arguments
from kerazoo.data import checks
from kerazoo.data.splits import DataSplits, split_three_ways
from kerazoo.registry import register_data


@register_data
def ratings(seed=0, users=2000, items=1000, rank=8, count=200_000, noise=0.1,
            validation_fraction=0.1, test_fraction=0.1) -> DataSplits:
    """`count` (user, item) pairs with a float32 rating each; x is (user ids, item ids)."""
    seed = checks.seed(seed)
    users = arguments.int_at_least("users", users, 2)
    items = arguments.int_at_least("items", items, 2)
    rank = arguments.positive_int("rank", rank)
    count = arguments.int_at_least("count", count, 20)
    noise = arguments.non_negative("noise", noise)
    validation_fraction, test_fraction = checks.split_fractions(validation_fraction,
                                                                test_fraction)
    generator = np.random.default_rng(seed)
    # Factors scaled so a rating's signal has unit variance whatever the rank.
    scale = rank ** -0.25
    user_factors = generator.normal(0.0, scale, (users, rank))
    item_factors = generator.normal(0.0, scale, (items, rank))
    user_bias = generator.normal(0.0, 0.3, users)
    item_bias = generator.normal(0.0, 0.3, items)
    user_ids = generator.integers(0, users, count).astype(np.int32)
    item_ids = generator.integers(0, items, count).astype(np.int32)
    values = (np.einsum("ij,ij->i", user_factors[user_ids], item_factors[item_ids])
              + user_bias[user_ids] + item_bias[item_ids]
              + generator.normal(0.0, noise, count))
    train, validation, test = split_three_ways((user_ids, item_ids),
                                               values.astype(np.float32)[:, None], seed,
                                               validation_fraction, test_fraction,
                                               stratify=False)
    return DataSplits(
        name="ratings",
        source=f"kerazoo low-rank ratings generator ({users} users, {items} items, rank "
               f"{rank}, {count} ratings, noise {noise}, seed {seed})",
        train=train, validation=validation, test=test,
        model_hints={"users": users, "items": items},
    )
