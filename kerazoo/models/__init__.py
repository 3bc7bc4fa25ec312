"""Model builders. Importing this package registers every family.

Each builder is a plain function returning an uncompiled `keras.Model`, importable directly
(`from kerazoo.models import mlp`) or built by name (`kerazoo.build("mlp")`).
"""

from kerazoo.models.mlp import mlp

__all__ = ["mlp"]
