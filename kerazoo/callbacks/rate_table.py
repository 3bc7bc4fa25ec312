"""A per-batch learning-rate schedule read inside the compiled training step (TensorFlow).

Keras calls batch hooks once per compiled call. A rate set from Python before every batch
therefore holds `steps_per_execution` at 1, and each step pays a Python call, a variable
assignment and a compiled call of its own: 3 to 20 % of the step for the small recurrent
recipes (`bench/throughput.py`). Instead, `LRScheduler(per="batch")` writes each epoch's
rates into a table at the epoch's start, and the optimizer looks its rate up by its own
step count inside the compiled step. The values are the same float32 numbers, step for step,
at any number of steps a call that divides the epoch.

`RateTable` stands in the optimizer's learning-rate slot for the fit. It is a plain callable,
which Keras optimizers accept there and call at every update. It is not a
`LearningRateSchedule` on purpose: an optimizer holding a schedule refuses to have its rate
set, and a rate set during the fit (`ReduceLROnPlateau`, a user) must still work. `assign`
passes such a value to the optimizer's own variable, where the scheduler finds it at the next
epoch's start, as it did before. After a fit that ends, the variable is back in the slot,
so configs, saving and plain fits are as usual. A step traced with the table and kept for a
later fit (`HyperparameterSwap`) reads the variable whenever the table is not in use.

Keras calls no hook when a fit raises, so the table stays in the slot until the next
scheduled fit takes it out. Until then the step reads the rest of the interrupted epoch's
rates (and momenta), then the variables; a rate set with `optimizer.learning_rate = x`
switches it to the variable at once. During the fit `optimizer.learning_rate` is a tensor
(the rate of the next step), as with a `LearningRateSchedule`: set it with `=`, not
`.assign`.

A momentum schedule (1cycle's Adam beta_1 or SGD momentum) rides with the rate: the table
has a row for it, and reading the rate, which the optimizer does before its update, also
writes that step's momentum into the variable the update reads (`HyperparameterSwap`).
TensorFlow runs the write before the update's read: a compiled step keeps the program order
of reads and writes of one variable. Read from Python during the fit, that variable holds
the momentum of the last step taken, or of the next one once something has read
`optimizer.learning_rate` (which runs the table).

TensorFlow only: JAX's compiled step reads only the optimizer's own state, so there the
scheduler keeps setting the rate before each step. Not under loss scaling either
(`mixed_float16`, a `LossScaleOptimizer`): it skips steps whose gradients overflow without
counting them, which would shift the table against the batches. The table is indexed by
the optimizer's count of training steps, which under `gradient_accumulation_steps` moves
every batch, as a rate set before every batch does.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import tensorflow as tf


class RateTable:
    """The optimizer's learning rate for one fit: this epoch's rates, indexed by the steps
    taken since the epoch began; the optimizer's variable when not in use. `riders` are
    hyperparameter variables scheduled along (momentum), set from the table's further rows
    at each read."""

    # An optimizer's config (a model saved during the fit, `ModelCheckpoint`) writes a
    # tensor-like learning rate as `float(rate)`: the variable's value, a plain number that
    # loads anywhere. A callable would be written as this class, which loads nowhere.
    is_tensor_like = True

    def __init__(self, variable: keras.Variable, iterations: keras.Variable,
                 riders: Sequence[keras.Variable] = ()):
        self.variable = variable
        self.riders = tuple(riders)
        self.fit = None  # the fit's params while it is in the slot (HyperparameterSwap)
        self._iterations = iterations.value
        rows = 1 + len(self.riders)
        self._rates = tf.Variable([[0.0]] * rows, shape=tf.TensorShape([rows, None]),
                                  dtype=tf.float32, trainable=False, name="learning_rate_table")
        self._first = tf.Variable(0, dtype=self._iterations.dtype, trainable=False,
                                  name="learning_rate_table_start")
        self._in_use = tf.Variable(False, trainable=False, name="learning_rate_table_in_use")

    def __call__(self) -> tf.Tensor:
        taken = tf.cast(self._iterations - self._first, tf.int32)
        loaded = tf.shape(self._rates)[1]
        column = tf.gather(self._rates, tf.clip_by_value(taken, 0, loaded - 1), axis=1)
        # past the loaded epoch (a fit that raised left the table here) the variables rule
        in_use = tf.logical_and(self._in_use, taken < loaded)
        for row, rider in enumerate(self.riders, start=1):
            rider.assign(tf.where(in_use, column[row], tf.cast(rider.value, tf.float32)))
        return tf.where(in_use, column[0], tf.cast(self.variable.value, tf.float32))

    def __float__(self) -> float:
        return float(self.variable.numpy())

    def load(self, rates: Sequence[float], rider_values: Sequence[Sequence[float]] = ()) -> None:
        """Use `rates` (and a sequence as long for each rider) for the steps from the
        optimizer's current count on (the last ones past their end)."""
        if len(rider_values) != len(self.riders):
            raise ValueError(f"{len(self.riders)} riders, {len(rider_values)} rows of values")
        self._rates.assign([list(rates), *map(list, rider_values)])
        self._first.assign(self._iterations)
        self._in_use.assign(True)

    def assign(self, value) -> None:
        """A rate set from outside (`optimizer.learning_rate = x`) goes to the variable,
        which the step reads from then on: until the scheduler loads the next epoch, or for
        good after a fit that raised."""
        self.variable.assign(value)
        self.release()

    def release(self) -> None:
        self._in_use.assign(False)
