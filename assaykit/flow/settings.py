"""The options of the flow cytometry workflow (``[flow]`` table of a protocol TOML).

The shape of the table (shared with the CLI and the shipped protocol
``protocols/flow_th_subsets.toml``)::

    [flow]
    strategy = "th_subsets"        # shipped template name, GatingML 2.0 path or FlowJo .wsp path
    group = "All Samples"          # .wsp only: the sample group whose gates are used
    compensation = "file"          # "file" ($SPILLOVER/$SPILL/SPILL), "none", or a CSV matrix path
    mfi_channels = ["CD25", "FOXP3"]   # markers or channels for median_/mean_/geomean_ columns
    mfi_source = "compensated"     # or "raw" (uncompensated): the values MFI statistics are computed on
    pct_of = "CD4pos"              # ancestor gate id for the pct_of / pct_ancestor columns
    threshold_by = "sample"        # default pooling of data-driven thresholds: "sample" or "group"
    group_column = "group"         # sample-sheet column naming each sample's group
    control_column = "control"     # sample-sheet column naming each sample's FMO/unstim control

    [[flow.thresholds]]            # one table per data-driven threshold
    gate = "IFNgpos"               # the GatingML gate id whose boundary is placed
    method = "tail"                # density_valley | tail | control_quantile | mixture | singlet
    channel = "IFNg"               # dimension (marker or channel) of a rectangle gate; default: its only one
    side = "min"                   # "min" (a positive gate) or "max" (a negative gate)
    # method parameters (all optional): see assaykit.flow.thresholds
    params = { tol = 0.01 }

Every placed threshold is recorded in ``GatingResult.thresholds`` and written into the
per-sample strategy exported as GatingML.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from assaykit.errors import SettingsError
from assaykit.settings import Settings, option

__all__ = ["THRESHOLD_METHODS", "FlowSettings", "ThresholdSpec"]

#: Names of the data-driven threshold methods (:mod:`assaykit.flow.thresholds`).
THRESHOLD_METHODS = ("density_valley", "tail", "control_quantile", "mixture", "singlet")


@dataclass(frozen=True)
class ThresholdSpec:
    """One data-driven boundary: which gate, which dimension, which method and parameters.

    Parameters
    ----------
    gate : str
        GatingML gate id (a rectangle/range gate, or a polygon for ``singlet``).
    method : str
        One of :data:`THRESHOLD_METHODS`.
    channel : str or None
        Dimension to place (channel name or marker); None: the gate's only dimension.
    side : {'min', 'max'}
        Which bound of the range is placed (``min`` for a positive gate).
    by : {'sample', 'group'} or None
        Compute per sample or on the pooled events of each group (None: the settings'
        ``threshold_by``).
    params : tuple of (str, value)
        Method parameters (see :mod:`assaykit.flow.thresholds`), as sorted pairs.
    """

    gate: str
    method: str
    channel: str | None = None
    side: str = "min"
    by: str | None = None
    params: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        if self.method not in THRESHOLD_METHODS:
            raise SettingsError("unknown threshold method", key="thresholds", gate=self.gate,
                                expected="one of: " + ", ".join(THRESHOLD_METHODS), found=repr(self.method))
        if self.side not in ("min", "max"):
            raise SettingsError("threshold side must be 'min' or 'max'", key="thresholds", gate=self.gate,
                                found=repr(self.side))
        if self.by not in (None, "sample", "group"):
            raise SettingsError("threshold 'by' must be 'sample' or 'group'", key="thresholds",
                                gate=self.gate, found=repr(self.by))
        if isinstance(self.params, Mapping):
            object.__setattr__(self, "params", tuple(sorted(self.params.items())))

    @classmethod
    def from_mapping(cls, m: Mapping[str, Any] | ThresholdSpec) -> ThresholdSpec:
        """Build from one ``[[flow.thresholds]]`` table (unknown keys rejected)."""
        if isinstance(m, ThresholdSpec):
            return m
        allowed = ("gate", "method", "channel", "side", "by", "params")
        if not isinstance(m, Mapping):
            raise SettingsError("a threshold must be a table", key="thresholds", found=repr(m))
        for k in m:
            if k not in allowed:
                raise SettingsError("not a key of a [[flow.thresholds]] table", key=f"thresholds.{k}",
                                    expected="one of: " + ", ".join(allowed))
        if "gate" not in m or "method" not in m:
            raise SettingsError("a threshold needs 'gate' and 'method'", key="thresholds", found=repr(dict(m)))
        return cls(**{k: m[k] for k in allowed if k in m})

    def param(self, name: str, default: Any) -> Any:
        """The value of one method parameter (``default`` when not given)."""
        return dict(self.params).get(name, default)

    def to_dict(self) -> dict[str, Any]:
        """TOML-friendly form (the inverse of :meth:`from_mapping`)."""
        out: dict[str, Any] = {"gate": self.gate, "method": self.method, "side": self.side}
        if self.channel is not None:
            out["channel"] = self.channel
        if self.by is not None:
            out["by"] = self.by
        if self.params:
            out["params"] = dict(self.params)
        return out


def _ok_thresholds(v: Any) -> bool:
    return isinstance(v, tuple) and all(isinstance(t, ThresholdSpec) for t in v)


@dataclass(frozen=True)
class FlowSettings(Settings):
    """Options of :func:`assaykit.flow.gate` and :func:`assaykit.flow.workflow.run`."""

    section = "flow"

    strategy: str = option("th_subsets", help="gating strategy: shipped template name, GatingML 2.0 file or FlowJo .wsp")
    group: str | None = option(None, help="FlowJo .wsp only: sample group whose gates are used (default: All Samples)")
    compensation: str = option("file", help="spillover: 'file' (from the FCS keywords), 'none', or a CSV matrix path")
    mfi_channels: tuple[str, ...] = option((), help="markers/channels for median_/mean_/geomean_ columns (default: the fluorescence channels the gates use)")
    mfi_source: str = option("compensated", help="values the MFI statistics are computed on", choices=("compensated", "raw"))
    pct_of: str | None = option(None, help="ancestor gate id for the pct_of / pct_ancestor columns (default: the grandparent)")
    threshold_by: str = option("sample", help="default pooling of data-driven thresholds", choices=("sample", "group"))
    group_column: str = option("group", help="sample-sheet column naming each sample's group")
    control_column: str = option("control", help="sample-sheet column naming each sample's FMO/unstimulated control sample")
    thresholds: tuple = option((), help="data-driven thresholds: [[flow.thresholds]] tables (gate, method, channel, side, by, params)",
                               check=_ok_thresholds, expected="tables with gate and method")
    keep_masks: bool = option(True, help="keep each population's event mask in the result (for figures)")
    workers: int = option(0, help="worker processes for a batch (0: one per core, 1: in this process)",
                          check=lambda v: isinstance(v, int) and v >= 0, expected="an integer >= 0")

    def __post_init__(self) -> None:
        raw = self.thresholds
        if isinstance(raw, Mapping):
            raw = (raw,)
        object.__setattr__(self, "thresholds", tuple(ThresholdSpec.from_mapping(t) for t in (raw or ())))
        super().__post_init__()

    def to_dict(self) -> dict[str, Any]:
        """Flat TOML-friendly ``{name: value}`` (thresholds as a list of tables)."""
        out = super().to_dict()
        out["thresholds"] = [t.to_dict() for t in self.thresholds]
        return out
