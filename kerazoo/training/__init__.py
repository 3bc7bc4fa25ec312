"""Training: prepare a recipe, fit it with kerazoo's safety callbacks, keep and resume its state."""
