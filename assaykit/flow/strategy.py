"""Gating strategies: GatingML 2.0, FlowJo .wsp, FlowKit objects, shipped templates."""

from __future__ import annotations

__all__ = ["dimension_values", "export_gatingml", "load_strategy"]


def load_strategy(strategy, group: str | None = None):
    """A FlowKit ``GatingStrategy`` from a template name, GatingML path, .wsp path (+ group) or object."""
    raise NotImplementedError


def export_gatingml(strategy, path_or_handle, sample: str | None = None) -> None:
    """Write a strategy as GatingML 2.0 (with one sample's custom gates when given)."""
    raise NotImplementedError


def dimension_values(sample, strategy, gate_id: str, spill="file"):
    """Compensated and transformed values of a gate's dimensions for all events (for figures)."""
    raise NotImplementedError
