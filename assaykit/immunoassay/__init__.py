"""Immunoassay standard curves: 4PL/5PL/linear models, weighted fits, batched fits, back-calculation."""

from assaykit.immunoassay.models import five_pl, five_pl_inverse, four_pl, four_pl_inverse

__all__ = ["five_pl", "five_pl_inverse", "four_pl", "four_pl_inverse"]
