"""Optimizer hyperparameters a callback can change during `fit`: momentum (or Adam's beta_1)
and decoupled weight decay.

Keras optimizers keep these as Python floats, which the compiled step bakes in as constants
when it is traced; the learning rate is the only one kept in a variable. For one `fit`,
`HyperparameterSwap` puts a variable in the float's place, retraces the step once so it reads
the variable, and at the end puts the last value back as a float, so the optimizer's config
and saved files are the usual ones afterwards.

On TensorFlow the step that reads the variable is kept after `fit` (the variable then holds
the float's value, as Keras' own step holds a float it baked in), and the next `fit` of the
same compiled model swaps the same variable back in without tracing again. A retrace costs
about 0.3 s for a small MLP: a second `fit` would otherwise pay it each time (a benchmark's
timed fits did). JAX's step takes the optimizer's state as an argument, so there the variable
leaves that state and the next fit traces anew.

Known limit: a full-model checkpoint written *during* such a fit stores the hyperparameter
as a tensor; Adam-family optimizers load it, SGD and RMSprop reject a non-float momentum.
Save weights only (`ModelCheckpoint(save_weights_only=True)`) while scheduling momentum.
"""

from __future__ import annotations

import operator
import weakref
from dataclasses import dataclass

import keras
import numpy

from kerazoo import keras_internals
from kerazoo.errors import KerazooError

MOMENTUM_ATTRIBUTES = ("beta_1", "momentum")  # Adam family, then SGD / RMSprop


class HyperparameterVariable(keras.Variable):
    """A float hyperparameter turned variable, with a variable's value semantics.

    Compared with a Python number, it answers from its current value, as a Keras variable's
    elementwise `==` does for a scalar (a plain bool here, so `if` works on it). Hashing is
    by identity, as for any mutable object whose value can change under a dict key.

    One exception, while a step is traced: some optimizers choose their code path in Python
    from the hyperparameter (SGD: `if self.momentum != 0`, RMSprop: `if self.momentum > 0`),
    and a traced value cannot answer. There the comparison answers from the value the
    optimizer had when the swap was made: the traced path is the one the float chose, while
    the arithmetic reads the live value.
    """

    def __init__(self, value: float, name: str):
        super().__init__(float(value), dtype="float32", trainable=False, name=name)
        self.traced_value = float(value)

    __hash__ = object.__hash__

    def current_value(self) -> float:
        try:
            return float(keras.ops.convert_to_numpy(self.value))
        except (NotImplementedError, TypeError):  # symbolic (TF graph) or traced (JAX)
            return self.traced_value

    def _compare(self, other, compare, fallback):
        if isinstance(other, int | float) and not isinstance(other, bool):
            # In the variable's float32, as Keras' elementwise comparison casts the number.
            return bool(compare(numpy.float32(self.current_value()), numpy.float32(other)))
        return fallback(other)

    def __eq__(self, other):
        return self._compare(other, operator.eq, super().__eq__)

    def __ne__(self, other):
        return self._compare(other, operator.ne, super().__ne__)

    def __lt__(self, other):
        return self._compare(other, operator.lt, super().__lt__)

    def __le__(self, other):
        return self._compare(other, operator.le, super().__le__)

    def __gt__(self, other):
        return self._compare(other, operator.gt, super().__gt__)

    def __ge__(self, other):
        return self._compare(other, operator.ge, super().__ge__)


def innermost(optimizer):
    """The optimizer that does the update, under wrappers (loss scaling, gradient noise)."""
    while hasattr(optimizer, "inner_optimizer"):
        optimizer = optimizer.inner_optimizer
    return optimizer


def momentum_attribute(optimizer) -> str:
    """'beta_1' or 'momentum': what a momentum schedule drives in this optimizer."""
    optimizer = innermost(optimizer)
    for name in MOMENTUM_ATTRIBUTES:
        value = getattr(optimizer, name, None)
        if isinstance(value, HyperparameterVariable):
            return name
        if isinstance(value, int | float) and not isinstance(value, bool):
            if name == "momentum" and value == 0:
                kind = type(optimizer).__name__
                raise KerazooError(
                    f"{kind} was created with momentum=0, so it keeps no velocity for a "
                    f"momentum schedule to act on; create it with momentum > 0 (e.g. "
                    f"{kind}(momentum=0.9)) or turn momentum cycling off "
                    f"(cycle_momentum=False). Received: momentum={value!r}")
            return name
    raise KerazooError(
        f"{type(optimizer).__name__} has no momentum or beta_1 to schedule; use SGD or "
        "RMSprop with momentum > 0 or an Adam-family optimizer, or turn momentum cycling off "
        "(cycle_momentum=False)")


@dataclass
class _KeptStep:
    """A model's step traced to read hyperparameter variables, kept past the fit's end."""
    train_function: object
    variables: dict[str, HyperparameterVariable]


_kept: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model -> _KeptStep


def _keeps_steps() -> bool:
    return keras.backend.backend() == "tensorflow"


class HyperparameterSwap:
    """Float hyperparameters of one model's optimizer held in variables for one `fit`."""

    def __init__(self, model: keras.Model):
        self.model = model
        self.optimizer = innermost(model.optimizer)
        self._swapped: dict[str, HyperparameterVariable] = {}

    def variable(self, name: str, initial: float | None = None) -> keras.Variable:
        """The variable standing for hyperparameter `name`, swapped in on first request.

        `initial` is used when the optimizer has no value yet (weight_decay=None).
        """
        current = getattr(self.optimizer, name)
        if isinstance(current, HyperparameterVariable):  # another callback swapped it
            return current
        value = current if current is not None else initial
        kept = _kept.get(self.model)
        reuse = (kept is not None and kept.train_function is self.model.train_function
                 and name in kept.variables)  # not recompiled since: the kept step is current
        if reuse:
            variable = kept.variables[name]
            variable.assign(float(value))  # the float may have been changed between fits
        else:
            variable = HyperparameterVariable(value, name=name)
        self._swapped[name] = variable
        # Assigning a variable to an optimizer attribute also tracks it as optimizer state,
        # which JAX's pure step needs (see fit_state); `restore` untracks it.
        keras_internals.hold_hyperparameter_in_variable(self.optimizer, name, variable)
        if not reuse:  # the step traced so far baked the float in; trace anew with the variable
            self.model.make_train_function(force=True)
        return variable

    def restore(self) -> None:
        """Put floats back (the last values reached), so configs and saving are unchanged."""
        for name, variable in self._swapped.items():
            setattr(self.optimizer, name, float(keras.ops.convert_to_numpy(variable)))
            keras_internals.untrack_variable(self.optimizer, variable)
        if self._swapped:
            self._keep_or_drop_step()
        self._swapped = {}

    def _keep_or_drop_step(self) -> None:
        """TensorFlow: the step goes on reading the variables, which now hold the floats'
        values; kept for the next swap. JAX: the next fit traces with the floats."""
        if not _keeps_steps():
            self.model.train_function = None
            return
        step = self.model.train_function
        kept = _kept.get(self.model)
        if kept is None or kept.train_function is not step:  # another callback may have
            kept = _kept[self.model] = _KeptStep(step, {})  # kept this step already
        kept.variables.update(self._swapped)
