"""Configuration: recipe files, their validation, and YAML read safely."""
