"""Callbacks for any `model.fit`. Importing this package registers them by name for recipes.

Learning rate: `LRScheduler` (any schedule from `kerazoo.schedules`, per batch or epoch),
`OneCycle`, `CyclicLR`, `CosineRestarts`, and the range test `LRFinder`. Regularization
that really changes during training: `DropoutScheduler` (with `kerazoo.layers.ScheduledDropout`),
`RegularizationScheduler` (with `kerazoo.regularizers.ScheduledL1L2`), `WeightDecayScheduler`,
`GradientNoise`, and weight averaging with `SWA`. Each writes the values it sets into `logs`.
"""

from kerazoo.callbacks import keras_builtins  # noqa: F401  (registers Keras' own callbacks)
from kerazoo.callbacks.dropout_scheduler import DropoutScheduler
from kerazoo.callbacks.gradient_noise import GradientNoise, GradientNoiseOptimizer
from kerazoo.callbacks.lr_finder import LRFinder, LRFinderResult, find_learning_rate
from kerazoo.callbacks.lr_policies import CosineRestarts, CyclicLR, OneCycle
from kerazoo.callbacks.lr_scheduler import LRScheduler
from kerazoo.callbacks.regularization_scheduler import RegularizationScheduler
from kerazoo.callbacks.swa import SWA
from kerazoo.callbacks.weight_decay import WeightDecayScheduler
from kerazoo.registry import callback_registry, register_callback

register_callback(LRScheduler, name="lr_scheduler")
register_callback(OneCycle, name="one_cycle")
register_callback(CyclicLR, name="cyclic_lr")
register_callback(CosineRestarts, name="cosine_restarts")
register_callback(LRFinder, name="lr_finder")
register_callback(DropoutScheduler, name="dropout_scheduler")
register_callback(RegularizationScheduler, name="regularization_scheduler")
register_callback(WeightDecayScheduler, name="weight_decay_scheduler")
register_callback(GradientNoise, name="gradient_noise")
register_callback(SWA, name="swa")


def make_callback(name: str, **kwargs):
    """Instantiate the registered callback `name` with keyword arguments."""
    entry = callback_registry.get(name)
    entry.check_keywords(kwargs, "callback")
    return entry(**kwargs)


__all__ = [
    "SWA", "CosineRestarts", "CyclicLR", "DropoutScheduler", "GradientNoise",
    "GradientNoiseOptimizer", "LRFinder", "LRFinderResult", "LRScheduler", "OneCycle",
    "RegularizationScheduler", "WeightDecayScheduler", "find_learning_rate", "make_callback",
    "register_callback",
]
