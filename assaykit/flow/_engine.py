"""The fast exact gating engine: a FlowKit ``GatingStrategy`` evaluated on a FlowSample.

Event membership is exactly FlowKit's (``GatingStrategy.gate_sample``):

* dimensions are resolved as FlowKit resolves them (PnN, PnS, FlowJo's ``/``→``_`` names,
  fluorochrome names of a referenced matrix); a gate with any compensated dimension is
  evaluated on compensated values (as FlowKit does), with FlowKit's arithmetic
  (:func:`~assaykit.flow.compensation.compensate_rows`, bit-identical on any row subset);
* transforms are FlowKit's own objects applied element-wise;
* the boundary rules are FlowKit's: rectangles ``>= min`` and ``< max``, polygons with
  flowutils' C winding-number test (edges inside), ellipsoids, quadrants and any other
  gate class through the gate's own ``apply``; Boolean gates combine the referenced
  gates' masks and are ANDed with their parent.

What makes it fast: each gate is evaluated on its parent's events only (the child's rows
are a boolean ``local`` mask over the parent's rows), and nothing is computed for all
events that only a sub-population needs:

* a rectangle on compensated range dimensions of a monotone transform (the common case:
  logicle thresholds on fluorescence) is evaluated in one chunked pass over the parent's
  events (:meth:`_Evaluator.streamed`): each chunk of rows is gathered, only the gate's
  detector columns are compensated by ``x @ inv(S)`` with a certified per-chunk bound on
  the difference from FlowKit's ``solve``, and each event is decided in data units
  unless it lies within a ±1e-6 (relative) band around the boundary's data value; the
  few band events are compensated with FlowKit's own call, transformed with FlowKit's
  transform and compared as FlowKit compares them. Sibling rectangles that no
  ``adjust`` changes share the pass (one gather of the parent's events for all of
  them); no full-length value column is kept;
* polygons on raw channels are tested chunk by chunk straight from the events (float32
  events hold FlowKit's float64 values exactly), with an exact bounding-box prefilter
  before flowutils' C test;
* Boolean gates whose references are siblings combine the siblings' ``local`` masks;
* where values are needed anyway (data-driven thresholds read the parent's values), a
  compensated column is computed once per node, together with the other columns the
  node's child gates need, and narrowed down the tree (:meth:`_Evaluator.approx`,
  :func:`_range_mask`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field

import numpy as np

from assaykit.errors import AnalysisError
from assaykit.events import FlowSample, SpillMatrix
from assaykit.flow.compensation import compensate_rows

__all__ = ["Node", "evaluate"]

_MONOTONE = ("LinearTransform", "LogTransform", "LogicleTransform", "AsinhTransform", "HyperlogTransform",
             "WSPBiexTransform", "WSPLogTransform")


@dataclass(eq=False)
class Node:
    """One evaluated population."""

    gate_id: str
    path: tuple[str, ...]  # ancestors, starting with 'root'
    parent: Node | None
    gate_type: str
    rows: np.ndarray | None = None  # event indices (None: all events)
    local: np.ndarray | None = None  # bool over the parent's rows (None for root)
    mask: np.ndarray | None = None  # bool over all events
    count: int = 0
    children: list = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str]:
        return (self.gate_id, "/".join(self.path))

    @property
    def path_str(self) -> str:
        return "/".join([*self.path[1:], self.gate_id])


class _RawView:
    """The few Sample attributes FlowKit's RatioTransform.apply reads, over some rows."""

    def __init__(self, sample: FlowSample, rows):
        self.pnn_labels = list(sample.channels)
        self._ev = sample.events if rows is None else sample.events[rows]

    def get_events(self, source="raw"):
        return np.asarray(self._ev, dtype=np.float64)


class _Evaluator:
    def __init__(self, sample: FlowSample, gs, spill: str | SpillMatrix | None):
        self.s = sample
        self.gs = gs
        self.spill = spill
        self.n = sample.n_events
        self.cache: dict[tuple, tuple[Node, np.ndarray]] = {}
        self.flowjo = [c.replace("/", "_") for c in sample.channels]
        #: node key -> (compensation_ref, dimension id, gate id) of its child gates' range dimensions
        self.plan: dict[tuple[str, str], list[tuple[str, str, str]]] = {}
        #: node key -> (gate id, path) of its child gates
        self.children: dict[tuple[str, str], list[tuple[str, tuple[str, ...]]]] = {}
        #: whether a gate is used as given (no ``adjust`` changes it)
        self.fixed: Callable[[str], bool] = lambda gate_id: True
        #: gates already adjusted (placed) ahead of their turn, by key
        self.ready: dict[tuple[str, str], object] = {}

    # ---------------------------------------------------------------- channels
    def matrix(self, ref: str, gate_id: str) -> tuple[SpillMatrix, list[int]] | None:
        if ref == "FCS":
            if isinstance(self.spill, SpillMatrix):
                m = self.spill
            elif self.spill is None or str(self.spill).lower() == "none":
                return None
            else:
                m = self.s.spill
            if m is None:
                return None  # GatingML: 'FCS' without a stored spillover means uncompensated
        else:
            fk_m = self.gs.comp_matrices.get(ref)
            if fk_m is None:
                raise AnalysisError("gate refers to an unknown compensation matrix", sample=self.s.name,
                                    gate=gate_id, expected="one of: " + ", ".join(self.gs.comp_matrices), found=ref)
            m = SpillMatrix(tuple(fk_m.detectors), np.asarray(fk_m.matrix, dtype=np.float64), source=ref)
        idx = []
        for d in m.detectors:
            if d not in self.s.channels:
                raise AnalysisError("spillover detectors do not match the sample's channels", file=self.s.path,
                                    sample=self.s.name, gate=gate_id, channel=d,
                                    expected="detectors among: " + ", ".join(self.s.channels), found=f"matrix {ref}")
            idx.append(self.s.channels.index(d))
        return m, idx

    def column(self, dim_id: str, comp_ref: str | None, gate_id: str) -> int:
        ch = self.s.channels
        if dim_id in ch:
            return ch.index(dim_id)
        if dim_id in self.s.markers:
            return self.s.markers.index(dim_id)
        if dim_id in self.flowjo:
            return self.flowjo.index(dim_id)
        if comp_ref not in (None, "uncompensated", "FCS") and comp_ref in self.gs.comp_matrices:
            m = self.gs.comp_matrices[comp_ref]
            if dim_id in list(m.fluorochromes) and m.detectors[list(m.fluorochromes).index(dim_id)] in ch:
                return ch.index(m.detectors[list(m.fluorochromes).index(dim_id)])
        try:
            return self.s.channel(dim_id)
        except AnalysisError:
            pass
        listed = ", ".join(c if not mk else f"{c} ({mk})" for c, mk in zip(ch, self.s.markers, strict=True))
        raise AnalysisError("the sample has no channel the gate needs", file=self.s.path, sample=self.s.name,
                            gate=gate_id, channel=dim_id, expected="one of: " + listed)

    # ---------------------------------------------------------------- values
    def _narrow(self, base: Node, values: np.ndarray, node: Node) -> np.ndarray:
        """Values at ``base``'s rows → values at ``node``'s rows (one gather through composed positions)."""
        key = ("pos", id(base), id(node))
        pos = self.cache.get(key)
        if pos is None:
            chain = []
            cur = node
            while cur is not base:
                chain.append(cur)
                cur = cur.parent
            idx = None
            for nd in reversed(chain):
                idx = np.flatnonzero(nd.local) if idx is None else idx[nd.local]
            pos = (None, idx.astype(np.int32) if idx.size and idx[-1] < 2**31 else idx)
            self.cache[key] = pos
        return values[pos[1]]

    def _cached(self, key: tuple, node: Node, make: Callable[[Node], np.ndarray]) -> np.ndarray:
        cur = node
        while cur is not None:
            hit = self.cache.get((*key, id(cur)))
            if hit is not None:
                if cur is node:
                    return hit[1]
                values = self._narrow(cur, hit[1], node)
                self.cache[(*key, id(node))] = (node, values)  # siblings and children reuse it
                return values
            cur = cur.parent
        values = make(node)
        self.cache[(*key, id(node))] = (node, values)
        return values

    def _find(self, key: tuple, node: Node) -> bool:
        """Whether ``key`` is cached at ``node`` or one of its ancestors."""
        cur = node
        while cur is not None:
            if (*key, id(cur)) in self.cache:
                return True
            cur = cur.parent
        return False

    def wanted(self, comp_ref: str, node: Node) -> list[int]:
        """Columns compensated by ``comp_ref`` that the child gates of ``node`` will ask for."""
        cols = []
        for ref, dim_id, gate_id in self.plan.get(node.key, ()):
            if ref != comp_ref:
                continue
            try:
                c = self.column(dim_id, ref, gate_id)
            except AnalysisError:
                continue  # reported when that gate is evaluated
            if c not in cols:
                cols.append(c)
        return cols

    def inverse(self, comp_ref: str, m: SpillMatrix) -> np.ndarray:
        if ("inv", comp_ref) not in self.cache:
            self.cache[("inv", comp_ref)] = (None, np.linalg.inv(m.matrix))
        return self.cache[("inv", comp_ref)][1]

    def approx(self, comp_ref: str, col: int, node: Node, gate_id: str):
        """Compensated column by ``x @ inv(S)`` (fast) with a bound on its difference from FlowKit's value.

        Returns ``(values at the node's rows, error bound, exact(positions))`` or None when the
        column is not compensated by ``comp_ref``. The first request at a node computes, in
        one pass over the node's events, every compensated column its child gates need
        (:meth:`wanted`) and not already computed for an ancestor; the bound comes from the
        largest detector values of the events the column was computed on.
        """
        mat = self.matrix(comp_ref, gate_id)
        if mat is None or col not in mat[1]:
            return None
        m, idx = mat
        inv = self.inverse(comp_ref, m)

        def make(nd: Node) -> np.ndarray:
            cols = [col] + [c for c in self.wanted(comp_ref, nd)
                            if c != col and c in idx and not self._find(("approx", comp_ref, c), nd)]
            out, peak = _comp_columns(self.s.events, idx, inv[:, [idx.index(c) for c in cols]], nd.rows, nd.count)
            # |x inv(S) - solve(S.T, x.T).T| is far below 1e-12 of sum_k max|x_k| |inv(S)_kj|
            err = 1e-12 * (peak @ np.abs(inv) + 1.0)
            for k, c in enumerate(cols):
                self.cache[("approx", comp_ref, c, id(nd))] = (nd, out[k])
                self.cache[("approx-err", comp_ref, c, id(nd))] = (nd, float(err[idx.index(c)]))
            return out[0]

        values = self._cached(("approx", comp_ref, col), node, make)
        base = node
        while ("approx-err", comp_ref, col, id(base)) not in self.cache:
            base = base.parent
        err = self.cache[("approx-err", comp_ref, col, id(base))][1]

        def exact(pos: np.ndarray) -> np.ndarray:
            rows = pos if node.rows is None else node.rows[pos]
            return compensate_rows(self.s.events, m, idx, rows)[:, idx.index(col)]

        if not np.isfinite(err):  # non-finite events: exact values everywhere
            values = self.raw(col, comp_ref, node, gate_id)
            return values, 0.0, lambda pos: values[pos]
        return values, err, exact

    def comp_block(self, comp_ref: str, node: Node, gate_id: str):
        mat = self.matrix(comp_ref, gate_id)
        if mat is None:
            return None, None
        m, idx = mat
        block = self._cached(("comp", comp_ref), node, lambda nd: compensate_rows(self.s.events, m, idx, nd.rows))
        return block, idx

    def raw(self, col: int, comp_ref: str | None, node: Node, gate_id: str) -> np.ndarray:
        """Values of one column at the node's rows, compensated with ``comp_ref`` (None: raw)."""
        if comp_ref is not None:
            block, idx = self.comp_block(comp_ref, node, gate_id)
            if block is not None and col in idx:
                return block[:, idx.index(col)]
        ev = self.s.events
        return np.asarray(ev[:, col] if node.rows is None else ev[node.rows, col], dtype=np.float64)

    def transformed(self, col: int, comp_ref: str | None, xref: str | None, node: Node, gate_id: str) -> np.ndarray:
        if xref is None:
            return self.raw(col, comp_ref, node, gate_id)
        xf = self.transform(xref, gate_id)

        def make(nd: Node) -> np.ndarray:
            return np.asarray(xf.apply(self.raw(col, comp_ref, nd, gate_id).reshape(-1, 1)), dtype=np.float64).ravel()

        return self._cached(("xf", comp_ref, xref, col), node, make)

    def transform(self, xref: str, gate_id: str):
        try:
            return self.gs.transformations[xref]
        except KeyError:
            raise AnalysisError("gate refers to an unknown transform", sample=self.s.name, gate=gate_id,
                                expected="one of: " + ", ".join(self.gs.transformations), found=xref) from None

    def ratio(self, dim, node: Node, gate_id: str) -> np.ndarray:
        def make(nd: Node) -> np.ndarray:
            xf = self.transform(dim.ratio_ref, gate_id)
            v = np.asarray(xf.apply(_RawView(self.s, nd.rows)), dtype=np.float64).reshape(-1, 1)
            if dim.transformation_ref is not None:
                v = np.asarray(self.transform(dim.transformation_ref, gate_id).apply(v), dtype=np.float64)
            return v.ravel()

        return self._cached(("ratio", dim.ratio_ref, dim.transformation_ref), node, make)

    # ---------------------------------------------------------------- gates
    def gate_comp_ref(self, gate, gate_id: str) -> str | None:
        refs = {d.compensation_ref for d in gate.dimensions if d.compensation_ref not in (None, "uncompensated")}
        if len(refs) > 1:
            raise AnalysisError("a gate mixes compensation matrices between its dimensions", sample=self.s.name,
                                gate=gate_id, found=", ".join(sorted(refs)))
        return next(iter(refs), None)

    def dim_values(self, dim, comp_ref: str | None, node: Node, gate_id: str, transform: bool = True) -> np.ndarray:
        if type(dim).__name__ == "RatioDimension":
            return self.ratio(dim, node, gate_id)
        dim_id = dim.dimension_ref if type(dim).__name__ == "QuadrantDivider" else dim.id
        col = self.column(dim_id, comp_ref, gate_id)
        if not transform:
            return self.raw(col, comp_ref, node, gate_id)
        return self.transformed(col, comp_ref, dim.transformation_ref, node, gate_id)

    def fast_values(self, dim, comp_ref: str | None, node: Node, gate_id: str, max_events: int = 300_000) -> np.ndarray:
        """A dimension's transformed values, approximately (~1e-6 of the scale), quickly.

        For placing data-driven thresholds (densities, quantiles), never for membership:
        at most ``max_events`` events (an even stride through the population; only those
        are read and compensated, by ``x @ inv(S)``, bit-identical to computing all), the
        transform interpolated on a fine grid.
        """
        if type(dim).__name__ != "Dimension":
            v = self.dim_values(dim, comp_ref, node, gate_id)
            return v[:: -(-v.size // max_events)] if v.size > max_events else v
        col = self.column(dim.id, comp_ref, gate_id)
        step = -(-node.count // max_events) if node.count > max_events else 1
        rows = node.rows[::step] if node.rows is not None else (np.arange(0, node.count, step) if step > 1 else None)
        count = node.count if rows is None else rows.size
        mat = self.matrix(comp_ref, gate_id) if comp_ref is not None else None
        if mat is not None and col in mat[1]:  # only the sampled events are compensated
            m, idx = mat
            raw = _comp_columns(self.s.events, idx, self.inverse(comp_ref, m)[:, [idx.index(col)]], rows, count)[0][0]
        else:
            ev = self.s.events
            raw = np.asarray(ev[:, col] if rows is None else ev[rows, col], dtype=np.float64)
        xref = dim.transformation_ref
        if xref is None:
            return raw
        xf = self.transform(xref, gate_id)
        if type(xf).__name__ not in _BAND_OK or raw.size < 20_000:
            return np.asarray(xf.apply(raw.reshape(-1, 1)), dtype=np.float64).ravel()
        lo, hi = float(raw.min()), float(raw.max())
        grid_x = np.asarray(xf.inverse(np.linspace(-0.5, 1.5, 8193).reshape(-1, 1))).ravel()
        grid_x = np.unique(np.concatenate([[lo, hi], grid_x[(grid_x > lo) & (grid_x < hi)]]))
        grid_y = np.asarray(xf.apply(grid_x.reshape(-1, 1)), dtype=np.float64).ravel()
        return np.interp(raw, grid_x, grid_y)

    def bounded_dimensions(self, gate, gate_id: str):
        """``(dim, min, max, transform)`` of each dimension of a rectangle that has a bound."""
        for dim in gate.dimensions:
            vmin, vmax = getattr(dim, "min", None), getattr(dim, "max", None)
            if vmin is None and vmax is None:
                continue
            xref = getattr(dim, "transformation_ref", None)
            yield dim, vmin, vmax, (self.transform(xref, gate_id) if xref is not None else _IDENTITY)

    def stream_bounds(self, gate, parent: Node, gate_id: str, comp_ref: str | None):
        """``(matrix, columns, bounds)`` for :meth:`streamed`, or None when it does not apply."""
        mat = self.matrix(comp_ref, gate_id) if comp_ref is not None else None
        if mat is None:
            return None
        cols: list[int] = []
        bounds = []
        for dim, vmin, vmax, xf in self.bounded_dimensions(gate, gate_id):
            if type(dim).__name__ != "Dimension" or type(xf).__name__ not in _BAND_OK:
                return None
            col = self.column(dim.id, comp_ref, gate_id)
            if col not in mat[1] or self._find(("approx", comp_ref, col), parent):
                return None  # uncompensated, or values already computed (thresholds placed on them)
            if col not in cols:
                cols.append(col)
            for bound, is_min in ((vmin, True), (vmax, False)):
                band = None if bound is None else _band(xf, float(bound))
                if bound is not None and band is None:
                    return None
                if bound is not None:
                    bounds.append((cols.index(col), col, xf, float(bound), is_min, *band))
        return (mat, cols, bounds) if bounds else None

    def streamed(self, gate, parent: Node, gate_id: str, comp_ref: str | None, key=None) -> np.ndarray | None:
        """A rectangle on compensated, monotone-transformed range dimensions in one chunked pass.

        Each chunk of the parent's events is compensated by ``x @ inv(S)`` (only the needed
        columns) with a bound ``e`` on the difference from FlowKit's values (from the
        chunk's largest detector values); an event is decided in data units when its value
        is farther than ``e`` from the band ``[lo, hi]`` around the boundary's data value
        (:func:`_band`), the others are compensated exactly, transformed and compared as
        FlowKit does. No full-length value column is kept. Sibling rectangles that qualify
        and that no ``adjust`` will change are evaluated in the same pass (one gather of
        the parent's events); their results wait in the cache. None when the gate does not
        qualify (see :meth:`stream_bounds`): the caller takes the general path.
        """
        plan = self.stream_bounds(gate, parent, gate_id, comp_ref)
        if plan is None:
            return None
        (m, idx), cols, _ = plan
        group = [(key, gate, plan)]
        for sib_key, sib in self.siblings(parent, key):
            try:
                sp = (self.stream_bounds(sib, parent, sib_key[0], comp_ref)
                      if self.gate_comp_ref(sib, sib_key[0]) == comp_ref else None)
            except AnalysisError:
                continue  # reported when that gate is evaluated on its own
            if sp is not None and sp[0][0] is m:
                group.append((sib_key, sib, sp))
        cols = list(dict.fromkeys(c for _, _, p in group for c in p[1]))
        bounds = [(g, cols.index(col), col, xf, bound, is_min, lo, hi)
                  for g, (_, _, p) in enumerate(group) for (_, col, xf, bound, is_min, lo, hi) in p[2]]
        w = self.inverse(comp_ref, m)[:, [idx.index(c) for c in cols]]
        sides = _stream_sides(self.s.events, idx, w, parent.rows, parent.count, [b[1:] for b in bounds])
        results: list[np.ndarray | None] = [None] * len(group)
        for (g, _, col, xf, bound, is_min, _, _), (side, near) in zip(bounds, sides, strict=True):
            if near.size:
                rows = near if parent.rows is None else parent.rows[near]
                tv = np.asarray(xf.apply(compensate_rows(self.s.events, m, idx, rows)[:, [idx.index(col)]])).ravel()
                side[near] = (tv >= bound) if is_min else (tv < bound)
            results[g] = side if results[g] is None else np.logical_and(results[g], side, out=results[g])
        for (k, g, _), res in zip(group, results, strict=True):
            res = ~res if g.use_complement else res
            if k is key:
                own = res
            else:
                self.cache[("streamed", k)] = (parent, res)
        return own

    def siblings(self, parent: Node, key) -> list:
        """``(key, gate)`` of the other rectangle children of ``parent`` that no ``adjust`` changes or already adjusted."""
        out = []
        for gid, path in self.children.get(parent.key, ()):
            k = (gid, "/".join(path))
            if k == key or ("streamed", k) in self.cache:
                continue
            if k in self.ready:
                g = self.ready[k]
            elif not self.fixed(gid):
                continue
            else:
                try:
                    g = self.gs.get_gate(gid, path, sample_id=self.s.name)
                except Exception:  # noqa: BLE001 - evaluated (and reported) on its own
                    continue
            if "Rectangle" in type(g).__name__:
                out.append((k, g))
        return out

    def rectangle(self, gate, parent: Node, gate_id: str, key=None) -> np.ndarray:
        hit = self.cache.pop(("streamed", key), None) if key is not None else None
        if hit is not None:
            return hit[1]
        comp_ref = self.gate_comp_ref(gate, gate_id)
        res = self.streamed(gate, parent, gate_id, comp_ref, key)
        if res is not None:
            return res
        res = np.ones(parent.count, dtype=bool)
        for dim, vmin, vmax, xf in self.bounded_dimensions(gate, gate_id):
            if type(dim).__name__ == "RatioDimension" or type(xf).__name__ not in _BAND_OK:
                v = self.dim_values(dim, comp_ref, parent, gate_id)
                if vmin is not None:
                    res &= v >= vmin
                if vmax is not None:
                    res &= v < vmax
                continue
            col = self.column(dim.id, comp_ref, gate_id)
            fast = self.approx(comp_ref, col, parent, gate_id) if comp_ref is not None else None
            if fast is None:
                raw = self.raw(col, None, parent, gate_id)
                fast = (raw, 0.0, lambda pos, raw=raw: raw[pos])
            values, err, exact = fast
            res &= _range_mask(values, err, exact, xf, vmin, vmax,
                               lambda d=dim: self.dim_values(d, comp_ref, parent, gate_id))
        if gate.use_complement:
            res = ~res
        return res

    def plain_column(self, dim, comp_ref: str | None, gate_id: str) -> int | None:
        """The event column of a raw (uncompensated, untransformed) dimension; None otherwise."""
        if type(dim).__name__ != "Dimension" or dim.transformation_ref is not None:
            return None
        col = self.column(dim.id, comp_ref, gate_id)
        if comp_ref is not None:
            mat = self.matrix(comp_ref, gate_id)
            if mat is not None and col in mat[1]:
                return None
        return col

    def polygon(self, gate, parent: Node, gate_id: str) -> np.ndarray:
        """Polygon membership: bounding-box prefilter, then flowutils' C winding-number test.

        Raw dimensions are read chunk by chunk straight from the events (float32 events
        hold FlowKit's float64 values exactly; the box bounds are float64), others from the
        exact compensated and transformed values.
        """
        from flowutils import gating

        comp_ref = self.gate_comp_ref(gate, gate_id)
        vert = np.array(gate.vertices, dtype=np.float64)
        lo, hi = vert.min(axis=0), vert.max(axis=0)
        cols = [self.plain_column(d, comp_ref, gate_id) for d in gate.dimensions]
        if None in cols:
            x, y = (self.dim_values(d, comp_ref, parent, gate_id) for d in gate.dimensions)
            src, cols, rows = np.column_stack([x, y]), [0, 1], None
        else:
            src, rows = self.s.events, parent.rows
        res = np.empty(parent.count, dtype=bool)
        buf = np.empty((min(_CHUNK, parent.count), src.shape[1]), dtype=src.dtype)
        for start in range(0, parent.count, _CHUNK):
            sel = slice(start, start + _CHUNK)
            if rows is None:
                blk = src[sel]
            else:
                blk = buf[: rows[sel].size]
                np.take(src, rows[sel], axis=0, out=blk)
            x, y = blk[:, cols[0]], blk[:, cols[1]]
            # outside the vertices' bounding box nothing is inside (nor on an edge)
            box = res[sel]
            np.greater_equal(x, lo[0], out=box)
            box &= x <= hi[0]
            box &= y >= lo[1]
            box &= y <= hi[1]
            pos = np.flatnonzero(box)
            if pos.size:
                pts = np.empty((pos.size, 2))
                pts[:, 0] = x[pos]
                pts[:, 1] = y[pos]
                box[pos] = gating.points_in_polygon(vert, pts)
        return ~res if gate.use_complement else res

    def generic(self, gate, parent: Node, gate_id: str):
        import pandas as pd

        if type(gate).__name__ in ("PolygonGate", "GMLPolygonGate") and len(gate.dimensions) == 2:
            return self.polygon(gate, parent, gate_id)
        comp_ref = self.gate_comp_ref(gate, gate_id)
        cols = {}
        for dim in gate.dimensions:
            name = dim.ratio_ref if type(dim).__name__ == "RatioDimension" else (
                dim.dimension_ref if type(dim).__name__ == "QuadrantDivider" else dim.id)
            cols[name] = self.dim_values(dim, comp_ref, parent, gate_id)
        return gate.apply(pd.DataFrame(cols))

    def boolean(self, gate, parent: Node, done: dict) -> np.ndarray:
        refs = [(done[(r["ref"], "/".join(r["path"]))], r["complement"]) for r in gate.gate_refs]
        # references that are siblings: their membership within the parent is their local mask
        local = all(nd.parent is parent and nd.local is not None for nd, _ in refs)
        parts = []
        for nd, complement in refs:
            m = nd.local if local else nd.mask
            parts.append(~m if complement else m)
        if gate.type in ("and", "or"):
            op = np.logical_and if gate.type == "and" else np.logical_or
            full = parts[0].copy()
            for part in parts[1:]:
                op(full, part, out=full)
        else:
            full = np.logical_not(parts[0])
        return full if local or parent.rows is None else full[parent.rows]


_CHUNK = 1 << 15


def _comp_chunks(events: np.ndarray, idx: list[int], w: np.ndarray, rows: np.ndarray | None, count: int):
    """Yield ``(start, x[:, idx] @ w transposed (columns × chunk), max |x[:, idx]| of the chunk)`` per chunk.

    The yielded value array is a reused buffer: use it before the next chunk.
    """
    if count == 0:
        return
    m = w.shape[1]
    # one column would go to BLAS gemv, whose rounding differs from gemm's; with two or
    # more, each value is bit-identical whatever the other columns and rows of the call
    wt = np.ascontiguousarray(w.T if m > 1 else np.hstack([w, w]).T)
    cols = slice(idx[0], idx[-1] + 1) if idx == list(range(idx[0], idx[-1] + 1)) else np.asarray(idx)
    buf = np.empty((min(_CHUNK, count), events.shape[1]), dtype=events.dtype)
    xt = np.empty((len(idx), buf.shape[0]))
    vt = np.empty((wt.shape[0], buf.shape[0]))
    for start in range(0, count, _CHUNK):
        sel = slice(start, start + _CHUNK)
        if rows is None:
            x = events[sel]
        else:
            x = buf[: rows[sel].size]
            np.take(events, rows[sel], axis=0, out=x)
        k = x.shape[0]
        xk = xt[:, :k]
        xk[...] = x[:, cols].T
        np.matmul(wt, xk, out=vt[:, :k])
        yield start, vt[:m, :k], np.maximum(xk.max(axis=1), -xk.min(axis=1))


def _stream_sides(events: np.ndarray, idx: list[int], w: np.ndarray, rows: np.ndarray | None, count: int,
                  bounds: list) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per bound ``(column, _, _, _, is_min, lo, hi)``: its side decided in data units, and the undecided positions."""
    absw = np.abs(w)
    sides = [np.empty(count, dtype=bool) for _ in bounds]
    near: list[list[np.ndarray]] = [[] for _ in bounds]
    for start, vals, peak in _comp_chunks(events, idx, w, rows, count):
        err = 1e-12 * (peak @ absw + 1.0)
        for b, (k, _, _, _, is_min, lo, hi) in enumerate(bounds):
            v, e = vals[k], float(err[k])
            out = sides[b][start:start + v.size]
            if not np.isfinite(e):  # non-finite events in this chunk: all exact
                out[:] = False
                near[b].append(np.arange(start, start + v.size))
                continue
            if is_min:
                np.greater_equal(v, hi + e, out=out)
            else:
                np.less_equal(v, lo - e, out=out)
            band = v > lo - e
            band &= v < hi + e
            pos = np.flatnonzero(band)
            if pos.size:
                near[b].append(pos + start)
    return [(sd, np.concatenate(nr) if nr else np.zeros(0, dtype=np.intp)) for sd, nr in zip(sides, near, strict=True)]


def _comp_columns(events: np.ndarray, idx: list[int], w: np.ndarray, rows: np.ndarray | None,
                  count: int) -> tuple[np.ndarray, np.ndarray]:
    """``x[:, idx] @ w`` at some rows, transposed (columns × rows, float64), and ``max |x[:, idx]|``."""
    out = np.empty((w.shape[1], count))
    peak = np.zeros(len(idx))
    for start, vals, pk in _comp_chunks(events, idx, w, rows, count):
        out[:, start:start + vals.shape[1]] = vals
        np.maximum(peak, pk, out=peak)
    return out, peak


def _band(xf, bound: float) -> tuple[float, float] | None:
    """``(lo, hi)`` around ``xf⁻¹(bound)`` (±1e-6 relative) with ``xf(lo) < bound < xf(hi)``; None if not found."""
    try:
        r = float(np.asarray(xf.inverse(np.array([[bound]]))).ravel()[0])
    except Exception:  # noqa: BLE001 - no inverse there: the caller transforms every event
        return None
    if not np.isfinite(r):
        return None
    tol = 1e-6 * max(abs(r), 1.0)
    lo, hi = r - tol, r + tol
    t_lo, t_hi = np.asarray(xf.apply(np.array([[lo], [hi]]))).ravel()
    return (lo, hi) if t_lo < bound < t_hi else None


_BAND_OK = ("LinearTransform", "LogicleTransform", "AsinhTransform", "HyperlogTransform", "WSPBiexTransform")


class _Identity:
    """The identity transform (a dimension without transformation_ref)."""

    def apply(self, x):
        return np.asarray(x, dtype=np.float64)

    def inverse(self, y):
        return np.asarray(y, dtype=np.float64)


_IDENTITY = _Identity()


def _range_mask(values: np.ndarray, err: float, exact: Callable[[np.ndarray], np.ndarray], xf,
                vmin: float | None, vmax: float | None, exact_all: Callable[[], np.ndarray]) -> np.ndarray:
    """``vmin <= xf(v) < vmax`` for the exact data values ``v``, transforming only near the bounds.

    ``values`` differ from the exact data values by at most ``err`` (0 when they are exact;
    ``exact(positions)`` gives the exact ones). ``xf`` is non-decreasing and defined
    everywhere, so with ``r`` ≈ ``xf⁻¹(bound)`` and a band ``[r - tol, r + tol]`` (``tol`` =
    max(1e-6·max(|r|, 1), 4·err)) whose ends
    transform strictly below and strictly above the bound, every event farther than
    ``tol + err`` from ``r`` is decided by its value, and the events inside the band are
    compensated exactly, transformed and compared exactly as FlowKit compares them. When
    the band check fails (e.g. a bound outside the transform's range) all values are
    transformed exactly (``exact_all``).
    """
    res = np.ones(values.shape[0], dtype=bool)
    for bound, is_min in ((vmin, True), (vmax, False)):
        if bound is None:
            continue
        try:
            r = float(np.asarray(xf.inverse(np.array([[float(bound)]]))).ravel()[0])
        except Exception:
            r = float("nan")
        ok = np.isfinite(r)
        if ok:
            tol = max(1e-6 * max(abs(r), 1.0), 4.0 * err)
            lo, hi = r - tol, r + tol
            t_lo, t_hi = np.asarray(xf.apply(np.array([[lo], [hi]]))).ravel()
            ok = bool(t_lo < bound < t_hi)
        if not ok:
            v = exact_all()
            res &= (v >= bound) if is_min else (v < bound)
            continue
        side = values >= hi + err if is_min else values <= lo - err
        pos = np.flatnonzero((values > lo - err) & (values < hi + err))
        if pos.size:
            tv = np.asarray(xf.apply(exact(pos).reshape(-1, 1))).ravel()
            side[pos] = (tv >= bound) if is_min else (tv < bound)
        res &= side
    return res


def _order(gs) -> list[tuple[str, tuple[str, ...]]]:
    """Gate ids with their ancestor paths, parents first and Boolean gates after their references."""
    from flowkit.exceptions import QuadrantReferenceError

    pending = list(gs.get_gate_ids())
    done: set[tuple[str, str]] = {("root", "")}
    out = []
    while pending:
        progressed = False
        rest = []
        for gid, path in pending:
            parent_key = (path[-1], "/".join(path[:-1]))
            try:
                g = gs.get_gate(gid, path)
                deps = [(r["ref"], "/".join(r["path"])) for r in getattr(g, "gate_refs", None) or []]
            except QuadrantReferenceError:
                deps = []
            if parent_key in done and all(d in done for d in deps):
                out.append((gid, path))
                done.add((gid, "/".join(path)))
                progressed = True
            else:
                rest.append((gid, path))
        if not progressed:
            raise AnalysisError("the gate hierarchy has a cycle or a reference to a missing gate",
                                gate=rest[0][0], found="/".join(rest[0][1]))
        pending = rest
    return out


def _adjust_siblings(ev: _Evaluator, rest: list, parent: Node, adjust: Callable,
                     adjusted: Collection[str] | None) -> None:
    """Call ``adjust`` now for the next rectangle siblings, so that they can share a pass.

    Only the siblings reached before any other gate that ``adjust`` may change (so the
    calls happen in the same order as without this); they wait in ``ev.ready``.
    """
    for gid, path in rest:
        key = (gid, "/".join(path))
        sibling = (path[-1], "/".join(path[:-1])) == parent.key
        may_change = adjusted is None or gid in adjusted
        if not sibling:
            if may_change:
                return
            continue
        try:
            g = ev.gs.get_gate(gid, path, sample_id=ev.s.name)
        except Exception:  # noqa: BLE001 - evaluated (and reported) on its own
            return
        if "Rectangle" not in type(g).__name__:
            if may_change:
                return
            continue
        if not may_change or key in ev.ready:
            continue
        try:
            ev.ready[key] = adjust(gid, path, g, parent, ev)
        except Exception:  # noqa: BLE001 - raised again, naming the gate, when it is evaluated
            return


def _plan(gs, order: list[tuple[str, tuple[str, ...]]], sid: str) -> dict:
    """Parent node key -> ``(compensation_ref, dimension id, gate id)`` of its rectangle children's dimensions."""
    plan: dict[tuple[str, str], list[tuple[str, str, str]]] = {}
    for gid, path in order:
        try:
            g = gs.get_gate(gid, path, sample_id=sid)
        except Exception:  # noqa: BLE001 - quadrant references and the like: nothing to plan
            continue
        if "Rectangle" not in type(g).__name__:
            continue
        for d in g.dimensions:
            ref = getattr(d, "compensation_ref", None)
            if type(d).__name__ == "Dimension" and ref not in (None, "uncompensated"):
                plan.setdefault((path[-1], "/".join(path[:-1])), []).append((ref, d.id, gid))
    return plan


def _positions(local: np.ndarray, n: int) -> np.ndarray:
    """``flatnonzero(local)``, as int32 when ``n`` allows, without a full-length int64 temporary."""
    if n >= 2**31:
        return np.flatnonzero(local)
    rows = np.empty(int(np.count_nonzero(local)), dtype=np.int32)
    at = 0
    for start in range(0, local.size, _CHUNK):
        pos = np.flatnonzero(local[start:start + _CHUNK])
        pos += start
        rows[at:at + pos.size] = pos
        at += pos.size
    return rows


def _child(parent: Node, gate_id: str, path: tuple[str, ...], gate_type: str, local: np.ndarray, n: int) -> Node:
    local = np.asarray(local, dtype=bool)
    if parent.rows is None:
        rows = _positions(local, n)
        mask = local
    else:
        rows = parent.rows[local]
        mask = np.zeros(n, dtype=bool)
        mask[rows] = True
    node = Node(gate_id, path, parent, gate_type, rows=rows, local=local, mask=mask, count=int(rows.size))
    parent.children.append(node)
    return node


def evaluate(sample: FlowSample, gs, spill: str | SpillMatrix | None = "file",
             adjust: Callable | None = None, adjusted: Collection[str] | None = None) -> list[Node]:
    """Evaluate every gate of ``gs`` on ``sample``; returns the nodes (root first) in evaluation order.

    Parameters
    ----------
    sample : FlowSample
    gs : flowkit.GatingStrategy
        Per-sample custom gates are used when registered under ``sample.name``.
    spill : 'file', 'none', None or SpillMatrix
        What ``compensation_ref="FCS"`` means: the file's spillover (default), none, or
        a given matrix.
    adjust : callable, optional
        ``adjust(gate_id, path, gate, parent_node, evaluator) -> gate``: called before each
        gate is evaluated (places data-driven boundaries); the gate it returns is used.
    adjusted : collection of str, optional
        The gate ids ``adjust`` may change (default: every gate). Rectangle siblings are
        evaluated together in one pass: the others as they are, and those ``adjust`` may
        change after ``adjust`` was called for them, which for the siblings following a
        rectangle happens right after its own call (in the gates' order, and never past a
        gate of another parent that ``adjust`` may change).

    Raises
    ------
    AnalysisError
        Naming the sample, gate and channel when a needed channel or matrix is missing.
    """
    from flowkit.exceptions import QuadrantReferenceError

    ev = _Evaluator(sample, gs, spill)
    n = sample.n_events
    root = Node("root", (), None, "root", rows=None, local=None, mask=np.ones(n, dtype=bool), count=n)
    done: dict[tuple[str, str], Node] = {("root", ""): root}
    nodes = [root]
    sid = sample.name
    order = _order(gs)
    ev.plan = _plan(gs, order, sid)
    for gid, path in order:
        ev.children.setdefault((path[-1], "/".join(path[:-1])), []).append((gid, path))
    if adjust is not None:
        ev.fixed = (lambda gate_id: False) if adjusted is None else (lambda gate_id: gate_id not in adjusted)
    for i, (gid, path) in enumerate(order):
        key = (gid, "/".join(path))
        if key in done:
            continue
        parent = done[(path[-1], "/".join(path[:-1]))]
        try:
            g = gs.get_gate(gid, path, sample_id=sid)
        except QuadrantReferenceError:
            continue  # made with its quadrant gate
        kind = type(g).__name__
        try:
            if adjust is not None:
                g = ev.ready.pop(key) if key in ev.ready else adjust(gid, path, g, parent, ev)
                if "Rectangle" in kind:
                    _adjust_siblings(ev, order[i + 1:], parent, adjust, adjusted)
            if "Boolean" in kind:
                local = ev.boolean(g, parent, done)
            elif "Rectangle" in kind:
                local = ev.rectangle(g, parent, gid, key)
            else:
                local = ev.generic(g, parent, gid)
        except AnalysisError:
            raise
        except Exception as exc:  # a FlowKit gate that cannot be applied to these data
            raise AnalysisError(f"gate cannot be applied ({type(exc).__name__}: {exc})", file=sample.path,
                                sample=sample.name, gate=gid) from None
        if isinstance(local, dict):  # quadrant gate: one population per quadrant
            qnode = Node(gid, path, parent, g.gate_type, rows=parent.rows, local=np.ones(parent.count, bool),
                         mask=parent.mask, count=parent.count)
            done[key] = qnode
            for qid, qlocal in local.items():
                child = _child(parent, qid, (*path, gid), "Quadrant", qlocal, n)
                child.parent = parent
                done[(qid, "/".join((*path, gid)))] = child
                nodes.append(child)
            continue
        node = _child(parent, gid, path, g.gate_type, local, n)
        done[key] = node
        nodes.append(node)
    return nodes
