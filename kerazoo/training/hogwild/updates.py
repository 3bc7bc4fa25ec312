"""The SGD step written into the shared weights: in place, without a lock.

Plain NumPy read-modify-write: two workers that update the same coordinate at the same
moment may lose one of the two updates, which HOGWILD! accepts because with sparse
gradients it is rare (Niu et al. 2011 bound its cost on convergence).
"""

from __future__ import annotations

import numpy as np


def apply_sparse(table: np.ndarray, rows: np.ndarray, gradient_rows: np.ndarray,
                 learning_rate: float) -> None:
    """`table[rows] -= learning_rate * gradient_rows`, touching those rows only.

    `rows` must be distinct (the worker sums a batch's repeated ids first): fancy-index
    assignment with repeats would keep one of them and drop the others.
    """
    table[rows] -= learning_rate * gradient_rows


def apply_dense(array: np.ndarray, gradient: np.ndarray, learning_rate: float) -> None:
    """`array -= learning_rate * gradient`, every element."""
    np.subtract(array, learning_rate * gradient, out=array)
