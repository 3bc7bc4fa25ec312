"""HOGWILD! (Niu, Recht, Ré & Wright, 2011): lock-free SGD by several processes on one shared
parameter vector. `train.strategy: hogwild` in a recipe; see job.py (the parent), worker.py
(one worker), shared_weights.py (the block) and updates.py (the in-place SGD step)."""

from kerazoo.hogwild.job import train

__all__ = ["train"]
