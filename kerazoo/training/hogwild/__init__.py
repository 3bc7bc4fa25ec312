"""HOGWILD! (Niu, Recht, Ré & Wright, 2011): lock-free SGD by several processes on one shared
parameter vector, for `train.strategy: hogwild`. job.py is the parent, worker.py one worker,
shared_weights.py the block they share and updates.py the in-place SGD step.

Nothing is imported here: a spawned worker imports this package before worker.py, and it must
set its thread limits before TensorFlow loads.
"""
