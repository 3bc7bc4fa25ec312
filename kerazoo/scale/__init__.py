"""Scaling out on existing engines: Optuna sweeps, Keras' distribution API across
processes, HOGWILD! on shared weights."""
