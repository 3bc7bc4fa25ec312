"""Tracking: MLflow runs and the store, figures drawn for a run, comparisons, registry presets."""
