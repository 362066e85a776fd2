"""Transforms: logicle, asinh, hyperlog, FlowJo biex, linear, log — FlowKit objects, FlowJo-like defaults."""

from __future__ import annotations

__all__ = ["asinh", "biex", "default_transforms", "hyperlog", "linear", "log", "logicle"]


def logicle(t: float = 262144.0, w: float = 0.5, m: float = 4.5, a: float = 0.0):
    """GatingML 2.0 logicle transform (FlowKit ``LogicleTransform``)."""
    raise NotImplementedError


def asinh(t: float = 262144.0, m: float = 4.5, a: float = 0.0):
    """GatingML 2.0 asinh transform (FlowKit ``AsinhTransform``)."""
    raise NotImplementedError


def hyperlog(t: float = 262144.0, w: float = 0.5, m: float = 4.5, a: float = 0.0):
    """GatingML 2.0 hyperlog transform (FlowKit ``HyperlogTransform``)."""
    raise NotImplementedError


def biex(negative: float = 0.0, width: float = -10.0, positive: float = 4.418540, max_value: float = 262144.0):
    """FlowJo biexponential transform (FlowKit ``WSPBiexTransform``)."""
    raise NotImplementedError


def linear(t: float = 262144.0, a: float = 0.0):
    """GatingML 2.0 linear transform."""
    raise NotImplementedError


def log(t: float = 262144.0, m: float = 4.5):
    """GatingML 2.0 log transform."""
    raise NotImplementedError


def default_transforms(sample, fluoro: str = "logicle", **params) -> dict:
    """FlowJo-like per-channel defaults: scatter and time linear, fluorescence ``fluoro``."""
    raise NotImplementedError
