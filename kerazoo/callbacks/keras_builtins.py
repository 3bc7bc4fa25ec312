"""Keras' own callbacks under the snake_case names recipes use."""

import keras

from kerazoo.registry import register_callback

register_callback(keras.callbacks.EarlyStopping, name="early_stopping")
register_callback(keras.callbacks.ReduceLROnPlateau, name="reduce_lr_on_plateau")
register_callback(keras.callbacks.TerminateOnNaN, name="terminate_on_nan")
