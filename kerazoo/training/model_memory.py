"""Whether a model fits in memory: one line instead of the backend's out-of-memory error.

A recipe asking for `units: [10000000000]` makes the backend fail while it allocates the
weights (TensorFlow's ResourceExhaustedError, JAX's RESOURCE_EXHAUSTED, NumPy's
MemoryError), and one whose weights just fit fails later, mid-training, once gradients and
optimizer state join them. Both are named before training starts. (Counting the weights
without allocating them, in a `keras.StatelessScope`, would leave the uninitialized variables
registered in Keras' private global state, to be allocated at the next scope's exit; so the
build is tried, and its failure recognised.)
"""

from __future__ import annotations

import os

# Training holds each weight about four times: the value, its gradient and an optimizer's two
# moment slots (Adam), at 4 bytes each in float32.
BYTES_PER_PARAMETER = 4 * 4


def out_of_memory(error: BaseException) -> bool:
    """Whether `error` is a backend's failure to allocate (recognised by name, so that no
    backend needs importing)."""
    return (isinstance(error, MemoryError)
            or type(error).__name__ == "ResourceExhaustedError"
            or "RESOURCE_EXHAUSTED" in str(error)[:2000])


def physical_memory() -> int | None:
    """Bytes of physical memory on this machine, or None where the OS will not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def too_large(parameters: int) -> str | None:
    """Why a model of `parameters` weights cannot train here, or None when it may."""
    memory = physical_memory()
    needed = parameters * BYTES_PER_PARAMETER
    if memory is None or needed <= memory:
        return None
    return (f"{parameters:,} parameters need about {needed / 2**30:,.1f} GiB to train "
            f"(weights, gradients and optimizer state), more than this machine's "
            f"{memory / 2**30:,.1f} GiB of memory")
