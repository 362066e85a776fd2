"""Band quantification (skeleton; filled next)."""

from __future__ import annotations

from assaykit.blot._result import QuantifyResult

__all__ = ["quantify"]


def quantify(image, boxes=None, lanes=None, layout=None, background: str = "rolling_ball",
             radius: float = 50.0, *, settings=None, **options) -> QuantifyResult:
    """Quantify bands: see the package docstring."""
    raise NotImplementedError
