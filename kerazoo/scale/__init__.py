"""Scaling out on existing engines: Optuna sweeps, and the launcher that starts the processes
of a multi-process job (their training is in kerazoo/training/)."""
