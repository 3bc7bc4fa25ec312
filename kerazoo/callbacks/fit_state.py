"""How a callback changes a value so that the compiled training step sees the change.

TensorFlow's compiled step reads a `keras.Variable` by reference: assigning it between two
steps is enough. JAX's compiled step is a pure function of the model's state. It reads only
the variables that belong to the model or its optimizer (any other variable is baked in as a
constant when the step is traced), and during `fit` it carries that state outside the
variables, writing it back only at epoch ends. So, on JAX:

- a variable that lives outside the layers (a regularizer's strength) must join the model's
  state for the duration of `fit` (`join_state` / `leave_state`); a variable assigned to an
  optimizer attribute is tracked as optimizer state by Keras itself;
- an assignment between two batches of one epoch must first write the carried state back
  (`sync`), or the next step would start from the state it carried and undo it. At epoch
  boundaries the state is already written back and `sync` costs nothing.

Joining is done only where it is needed (JAX), and undone at the end of `fit`, so a model
saved after training has exactly the variables a freshly built one has.
"""

from __future__ import annotations

from collections.abc import Callable

import keras

from kerazoo import keras_internals


def step_reads_only_its_state() -> bool:
    """Whether the compiled step sees only model and optimizer variables (JAX)."""
    return keras.backend.backend() == "jax"


def syncer(model: keras.Model) -> Callable[[], object]:
    """What writes the state a JAX `fit` carries back into the variables (a no-op elsewhere,
    and at epoch boundaries); the next step then reads the variables, assignments included.
    Looked up once, for callbacks that sync before every batch."""
    return keras_internals.state_syncer(model)


def sync(model: keras.Model) -> None:
    syncer(model)()


def scalar_assigner(variable: keras.Variable) -> Callable[[float], object]:
    """`variable.assign` for a Python number, by the cheapest route the backend offers.

    Keras' `assign` first runs the value through its generic tensor conversion, which on
    TensorFlow costs about as much as the assignment itself; before every batch that is a
    visible share of a small model's step. TensorFlow's own variable, which Keras keeps as
    `variable.value` there, takes a Python float directly, and its `assign` is the op
    Keras' assign ends in anyway.
    """
    backend_variable = variable.value
    if keras.backend.backend() == "tensorflow" and hasattr(backend_variable, "assign"):
        return backend_variable.assign
    return variable.assign


def join_state(owner, variables: list[keras.Variable]) -> list[keras.Variable]:
    """Make `variables` part of the state of `owner` (a model or an optimizer) where the
    compiled step needs it; returns those that joined, for `leave_state`.

    Keras has no public way to do this (see `keras_internals.track_variables`).
    """
    if not step_reads_only_its_state():
        return []
    known = {id(variable) for variable in owner.variables}
    joining = [variable for variable in variables if id(variable) not in known]
    keras_internals.track_variables(owner, joining)
    return joining


def leave_state(owner, variables: list[keras.Variable]) -> None:
    for variable in variables:
        keras_internals.untrack_variable(owner, variable)
