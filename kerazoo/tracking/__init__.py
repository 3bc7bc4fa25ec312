"""Tracking: MLflow runs and the store, figures drawn for a run, comparisons, registry presets,
and `kerazoo serve` (MLflow's scoring server on a logged model)."""
