"""Optimizer hyperparameters a callback can change during `fit`: momentum (or Adam's beta_1)
and decoupled weight decay.

Keras optimizers keep these as Python floats, which the compiled step bakes in as constants
when it is traced; the learning rate is the only one kept in a variable. For one `fit`,
`HyperparameterSwap` puts a variable in the float's place, retraces the step once so it reads
the variable, and at the end puts the last value back as a float, so the optimizer's config
and saved files are the usual ones afterwards.

On TensorFlow the step traced to read the variables is kept on the model (not in use: a plain
`fit` in between traces with the floats), and the next scheduled `fit` of the same compiled
model swaps the same variables and that step back in without tracing again. A retrace costs
about 0.3 s for a small MLP: a second `fit` would otherwise pay it each time (a benchmark's
timed fits did). It comes back only for a fit that swaps the same hyperparameters (in
callback order, every other one it reads must be in place already), each variable holding
the optimizer's value at that fit's start, so a float set between fits is what it reads;
a hyperparameter a fit does not schedule stays a float. Otherwise, or after a new
`compile`, a new step is traced. JAX's step takes the optimizer's state as an argument, so
there nothing is kept.

A fit that raised leaves its variables and rate table in the optimizer (Keras calls no hook
then); the next fit with any swap takes them back first.

Known limit: a full-model checkpoint written *during* such a fit stores the hyperparameter
as a tensor; Adam-family optimizers load it, SGD and RMSprop reject a non-float momentum.
Save weights only (`ModelCheckpoint(save_weights_only=True)`) while scheduling momentum.
"""

from __future__ import annotations

import operator
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
        self.fit = None  # the fit's params while a HyperparameterSwap holds it in place

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


def wrapped(optimizer) -> list:
    """The optimizer and those it wraps (loss scaling, gradient noise), outermost first."""
    chain = [optimizer]
    while hasattr(chain[-1], "inner_optimizer"):
        chain.append(chain[-1].inner_optimizer)
    return chain


def innermost(optimizer):
    """The optimizer that does the update, under wrappers (loss scaling, gradient noise)."""
    return wrapped(optimizer)[-1]


def take_back_learning_rate(optimizer, fit: dict | None = None) -> None:
    """Put the optimizer's variable back in its learning-rate slot if a `RateTable` is
    there; given `fit` (a callback's `params`), only one of another fit: left by a fit
    that raised (Keras calls no hook then, so nothing took it out)."""
    slot = keras_internals.learning_rate_slot(optimizer)
    if hasattr(slot, "riders") and (fit is None or slot.fit is not fit):  # a RateTable
        slot.release()
        keras_internals.fill_learning_rate_slot(optimizer, slot.variable)


def same_objects(these, those) -> bool:
    """Whether two sequences hold the same objects (variables' `==` compares values)."""
    return len(these) == len(those) and all(map(operator.is_, these, those))


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
    """A step traced to read hyperparameter variables, kept on its model between fits."""
    compiled: tuple  # keras_internals.compile_token when it was made
    train_function: object
    variables: dict[str, HyperparameterVariable]
    rate_table: object = None  # the RateTable the step reads its learning rate from, if any


KEPT_STEP = "_kerazoo_kept_step"  # the model's attribute: the step lives and dies with it


class HyperparameterSwap:
    """Float hyperparameters of one model's optimizer held in variables for one `fit`.

    `fit` is the callback's `params`, a dict Keras makes anew for each fit and gives to
    every callback of it. Variables and a rate table found in the optimizer from another fit
    were left by a fit that raised (Keras calls no hook then): they are taken back first.
    A callback reused for the next fit (a `CallbackList` built once) restores its own swap.
    """

    def __init__(self, model: keras.Model, fit: dict):
        self.model = model
        self.fit = fit
        self.optimizer = innermost(model.optimizer)
        self._swapped: dict[str, HyperparameterVariable] = {}
        self._rate_table = None
        take_back_learning_rate(self.optimizer, fit)
        for name, value in list(vars(self.optimizer).items()):
            if isinstance(value, HyperparameterVariable):
                self._current(name)

    def variable(self, name: str, initial: float | None = None) -> keras.Variable:
        """The variable standing for hyperparameter `name`, swapped in on first request.

        `initial` is used when the optimizer has no value yet (weight_decay=None).
        """
        current = self._current(name)
        if isinstance(current, HyperparameterVariable):  # another callback of this fit
            return current
        value = current if current is not None else initial
        kept = self._kept_step()
        if kept is not None and name in kept.variables and self._take_kept(kept, name, value):
            return kept.variables[name]
        variable = HyperparameterVariable(value, name=name)
        self._hold(name, variable, value)
        # the step traced so far baked the float in: a new one, traced at its first call,
        # after every swap of this fit, so it reads all their variables
        self.model.make_train_function(force=True)
        self._keep_step()
        return variable

    def rate_table(self, riders=()):
        """A `RateTable` in the optimizer's learning-rate slot for this fit (TensorFlow),
        setting `riders` (variables from `variable`) along: the one the kept step reads, if
        it has the same riders, or a new one and a step traced to read it."""
        from kerazoo.callbacks.rate_table import RateTable  # imports TensorFlow

        slot = keras_internals.learning_rate_slot(self.optimizer)  # one left: see __init__
        kept = self._kept_step()
        table = kept.rate_table if kept is not None else None
        reused = (table is not None and table.variable is slot
                  and same_objects(table.riders, riders) and self._take_kept(kept))
        if not reused:
            table = RateTable(slot, keras_internals.steps_applied(self.optimizer), riders)
        keras_internals.fill_learning_rate_slot(self.optimizer, table)
        table.fit = self.fit
        self._rate_table = table
        if not reused:
            self.model.make_train_function(force=True)
            self._keep_step()
        return table

    def _current(self, name: str):
        """The optimizer's `name`: a number, None, or a variable of this fit's swaps. One left
        by a fit that raised goes back to a float here."""
        current = getattr(self.optimizer, name)
        if isinstance(current, HyperparameterVariable) and current.fit is not self.fit:
            keras_internals.untrack_variable(self.optimizer, current)
            current.fit = None
            current = current.current_value()
            setattr(self.optimizer, name, current)
        return current

    def _hold(self, name: str, variable: HyperparameterVariable, value: float) -> None:
        variable.assign(float(value))
        variable.fit = self.fit
        self._swapped[name] = variable
        # Assigning a variable to an optimizer attribute also tracks it as optimizer state,
        # which JAX's pure step needs (see fit_state); `restore` untracks it.
        keras_internals.hold_hyperparameter_in_variable(self.optimizer, name, variable)

    def _take_kept(self, kept: _KeptStep, name: str | None = None,
                   value: float | None = None) -> bool:
        """Swap the kept step back in, if every other variable it reads is in place for
        this fit already; `name`'s variable then holds `value`, the optimizer's float now
        (it may have been changed between fits). A hyperparameter this fit does not
        schedule stays a float, so the kept step is not for it."""
        if not all(self._current(other) is variable
                   for other, variable in kept.variables.items() if other != name):
            return False
        if name is not None:
            self._hold(name, kept.variables[name], value)
        self.model.train_function = kept.train_function
        return True

    def _kept_step(self) -> _KeptStep | None:
        """The step kept by an earlier fit, if the model was not compiled again since."""
        kept = getattr(self.model, KEPT_STEP, None)
        if kept is None or not all(
                now is then for now, then in zip(keras_internals.compile_token(self.model),
                                                 kept.compiled, strict=True)):
            return None
        return kept

    def _keep_step(self) -> None:
        """TensorFlow: remember the new step and the variables it will read, for the next
        fit. JAX: nothing to keep (its step takes the optimizer's state as an argument)."""
        if keras.backend.backend() != "tensorflow":
            return
        swapped = {name: value for name, value in vars(self.optimizer).items()
                   if isinstance(value, HyperparameterVariable)}
        from kerazoo.callbacks.rate_table import RateTable  # imports TensorFlow

        slot = keras_internals.learning_rate_slot(self.optimizer)
        table = slot if isinstance(slot, RateTable) else None
        setattr(self.model, KEPT_STEP, _KeptStep(keras_internals.compile_token(self.model),
                                                 self.model.train_function, swapped, table))

    def restore(self) -> None:
        """Put floats back (the last values reached), so configs and saving are unchanged."""
        for name, variable in self._swapped.items():
            setattr(self.optimizer, name, float(keras.ops.convert_to_numpy(variable)))
            keras_internals.untrack_variable(self.optimizer, variable)
            variable.fit = None
        table = self._rate_table
        if table is not None:
            table.release()  # a kept step that reads it reads the variable from now on
            table.fit = None
            keras_internals.fill_learning_rate_slot(self.optimizer, table.variable)
        if self._swapped or table is not None:
            self.model.train_function = None  # the next fit traces with the floats, or
            # swaps the kept step back in with its variables
        self._swapped, self._rate_table = {}, None
