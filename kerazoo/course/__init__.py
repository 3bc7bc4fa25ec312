"""The crash course as runnable lessons."""
