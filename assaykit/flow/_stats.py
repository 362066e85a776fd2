"""Population statistics of evaluated gate trees: the ``stats`` table of :class:`GatingResult`."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from assaykit.events import FlowSample
from assaykit.flow._engine import Node
from assaykit.flow._result import STAT_COLUMNS
from assaykit.flow.compensation import resolve_spill

__all__ = ["mfi_columns", "population_stats"]


def _snake(label: str) -> str:
    s = re.sub(r"[^0-9A-Za-z]+", "_", label).strip("_").lower()
    return s or "channel"


def mfi_columns(markers: tuple[str, ...]) -> list[str]:
    """The MFI column names for the chosen markers (``median_<m>, mean_<m>, geomean_<m>`` each)."""
    return [f"{stat}_{_snake(m)}" for m in markers for stat in ("median", "mean", "geomean")]


def _pct(num: int, den: int) -> float:
    return 100.0 * num / den if den > 0 else 0.0


def _ancestor(node: Node, pct_of: str | None) -> Node:
    chain = []
    cur = node.parent
    while cur is not None:
        chain.append(cur)
        cur = cur.parent
    if pct_of is not None:
        for a in chain:
            if a.gate_id == pct_of:
                return a
    return chain[1] if len(chain) > 1 else chain[0]


def _mfi_values(sample: FlowSample, markers: tuple[str, ...], source: str, spill) -> dict[str, np.ndarray]:
    """Full-length value columns for the MFI markers (compensated once, only those columns kept)."""
    cols = {m: sample.channel(m) for m in markers}
    out = {m: np.asarray(sample.events[:, c], dtype=np.float64) for m, c in cols.items()}
    if source == "raw":
        return out
    sm = resolve_spill(sample, spill)
    if sm is None:
        return out
    idx = [sample.channels.index(d) for d in sm.detectors]
    need = [m for m, c in cols.items() if c in idx]
    if need:
        # statistics need no bit-exactness: x @ inv(S) (within ~1e-12 of FlowKit's solve), chunked
        inv = np.linalg.inv(sm.matrix)[:, [idx.index(cols[m]) for m in need]]
        block = np.empty((len(need), sample.n_events))
        for start in range(0, sample.n_events, 1 << 16):
            x = np.asarray(sample.events[start:start + (1 << 16)][:, idx], dtype=np.float64)
            np.matmul(inv.T, x.T, out=block[:, start:start + (1 << 16)])
        for k, m in enumerate(need):
            out[m] = block[k]
    return out


def _mfi(values: dict[str, np.ndarray], rows: np.ndarray | None, count: int) -> tuple[list[float], str]:
    stats: list[float] = []
    flags: list[str] = []
    if count == 0:
        return [np.nan] * (3 * len(values)), "no events: MFI undefined" if values else ""
    for m, v in values.items():
        x = v if rows is None else v[rows]
        pos = x[x > 0]
        geo = float(np.exp(np.mean(np.log(pos)))) if pos.size else np.nan
        if not pos.size:
            flags.append(f"geomean_{_snake(m)}: no positive values")
        stats += [float(np.median(x)), float(np.mean(x)), geo]
    return stats, "; ".join(flags)


def population_stats(sample: FlowSample, nodes: list[Node], *, markers: tuple[str, ...] = (),
                     pct_of: str | None = None, mfi_source: str = "compensated", spill="file") -> pd.DataFrame:
    """One row per population of one sample (``docs/schemas.md``, "Flow population statistics").

    Percentages of an empty parent or ancestor are 0 (the counts show why); MFI values of
    an empty population are NaN with ``mfi_flag`` saying so.
    """
    total = sample.n_events
    values = _mfi_values(sample, markers, mfi_source, spill) if markers else {}
    rows = []
    for nd in nodes:
        if nd.parent is None:
            continue
        anc = _ancestor(nd, pct_of)
        mfi, flag = _mfi(values, nd.rows, nd.count)
        rows.append([sample.name, nd.gate_id, nd.parent.gate_id, nd.path_str, nd.count,
                     _pct(nd.count, nd.parent.count), _pct(nd.count, total), _pct(nd.count, anc.count),
                     anc.gate_id, *mfi, flag])
    cols = [*STAT_COLUMNS, *mfi_columns(markers), "mfi_flag"]
    df = pd.DataFrame(rows, columns=cols)
    return df.astype({"count": "int64"})
