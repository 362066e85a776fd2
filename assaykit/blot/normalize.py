"""Normalisation of band volumes: target / loading ratios, folds, fractions, replicates, linear range.

:func:`normalize` takes a ``bands`` table (``docs/schemas.md``, "Blot bands": measured by
:func:`assaykit.blot.quantify` or imported from ImageJ, Image Lab or Image Studio), usually
annotated with a layout (:func:`assaykit.blot.layout.apply_layout`: ``condition``,
``fraction``, ``role``, ``amount_ug`` ...), and returns a frozen :class:`NormalizeResult`:

``normalized``
    One row per image × lane × target other than the loading control: ``ratio = volume /
    loading_volume``; ``fold = ratio / control_ratio``, where ``control_ratio`` is the mean
    ratio of the control lanes (``group_col == control``) of the same image and fraction;
    ``normalization_factor = loading_volume / mean loading volume of the image's lanes``
    and ``normalized_volume = volume / normalization_factor`` (LI-COR's lane normalisation
    factor; used as is for total-protein stains). A saturated, missing, zero or
    negative value never passes silently: ``status`` names it.
``replicates``
    Folds combined over blots and replicate lanes: one row per target × fraction × group.
``stats``
    Tests of ``log2(fold)`` of each group against the control group
    (:func:`assaykit.stats.compare_groups`).
``purity``
    For fractionation blots: the other compartment's marker in each lane (lamin B1 in
    cytoplasmic lanes, GAPDH in nuclear lanes) as a percentage of that marker in the
    matching lane of its own fraction.
``linearity``
    When lanes of the layout's ``role = "standard"`` carry ``amount_ug`` (a dilution
    series): the linear range of each target's series (volumes against amounts);
    sample bands outside it are flagged in ``normalized``.

Statuses (``;``-joined in ``status``, ``ok`` when none): ``loading_missing``,
``loading_not_positive`` (ratio NaN), ``loading_saturated``, ``target_saturated``,
``target_not_found`` (volume NaN), ``target_not_positive``, ``no_control`` (no control
given), ``no_control_lane``, ``control_unusable`` (fold NaN), ``control_flagged`` (a
control lane has a status), ``loading_above_linear_range``, ``loading_below_linear_range``,
``target_above_linear_range``, ``target_below_linear_range``.

Examples
--------
>>> import pandas as pd
>>> bands = pd.DataFrame({"lane": [1, 1, 2, 2], "sample": ["veh", "veh", "TNF", "TNF"],
...                       "target": ["IkBa", "GAPDH"] * 2, "volume": [80.0, 100.0, 20.0, 50.0]})
>>> res = normalize(bands, loading="GAPDH", control="veh")
>>> res.normalized[["sample", "ratio", "fold", "status"]].to_string(index=False)
'sample  ratio  fold status\\n   veh    0.8   1.0     ok\\n   TNF    0.4   0.5     ok'
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from assaykit.errors import AnalysisError
from assaykit.schema import join_flags
from assaykit.settings import Settings, option

__all__ = [
    "NORMALIZED_COLUMNS",
    "NORMALIZE_STATUS",
    "NormalizeResult",
    "NormalizeSettings",
    "linear_range",
    "normalize",
]

#: Values that may appear (joined with ';') in ``normalized.status``.
NORMALIZE_STATUS: dict[str, str] = {
    "ok": "ratio and fold computed from unflagged bands",
    "loading_missing": "no loading-control band in this lane, or it was not found (ratio NaN)",
    "loading_not_positive": "the loading-control volume is zero or negative (ratio NaN)",
    "loading_saturated": "the loading-control band holds saturated pixels: its volume is a lower bound",
    "target_saturated": "the target band holds saturated pixels: its volume is a lower bound",
    "target_not_found": "the target band was not found (volume NaN)",
    "target_not_positive": "the target volume is zero or negative",
    "no_control": "no control group given (fold NaN)",
    "no_control_lane": "no lane of the control group in this image and fraction (fold NaN)",
    "control_unusable": "the control lanes have no usable ratio (fold NaN)",
    "control_flagged": "a control lane's ratio carries a status",
    "loading_above_linear_range": "the loading-control volume is above the linear range of the dilution series",
    "loading_below_linear_range": "the loading-control volume is below the lowest point of the dilution series",
    "target_above_linear_range": "the target volume is above the linear range of its dilution series",
    "target_below_linear_range": "the target volume is below the lowest point of its dilution series",
}

#: Columns of ``normalized``, in order (layout columns such as ``replicate`` follow).
NORMALIZED_COLUMNS: tuple[str, ...] = (
    "image", "lane", "sample", "group", "fraction", "target", "volume", "loading", "loading_volume", "ratio",
    "normalization_factor", "normalized_volume", "control_ratio", "n_control_lanes", "fold", "log2_fold", "status",
)  # fmt: skip

#: Tests of :func:`assaykit.stats.compare_groups` (repeated here so that importing the
#: settings does not import scipy.stats; a test checks they agree).
TESTS: tuple[str, ...] = ("welch", "student", "mann_whitney", "anova", "tukey", "dunnett")

_NUCLEAR = ("nuc", "n")
_CYTO = ("cyt", "c")
_STANDARD_ROLES = ("standard", "dilution", "std")


@dataclass(frozen=True)
class NormalizeSettings(Settings):
    """Options of :func:`normalize` (keys of the ``[blot]`` table beside the quantification ones)."""

    section = "blot"

    loading: str | None = option(
        "GAPDH", help="loading-control target (or total-protein stain); none: no ratio"
    )
    nuclear_loading: str | None = option(
        None, help="loading control of nuclear-fraction lanes (e.g. laminB1); default: loading"
    )
    control: str | None = option(
        None, help="control group: folds are relative to its lanes in each image"
    )
    group_col: str | None = option(
        None,
        help="column naming each lane's group (default: condition, else sample; lanes without a condition: their sample)",
    )
    nuclear_marker: str = option(
        "laminB1", help="marker of the nuclear fraction (purity of cytoplasmic lanes)"
    )
    cytoplasmic_marker: str = option(
        "GAPDH", help="marker of the cytoplasmic fraction (purity of nuclear lanes)"
    )
    test: str | None = option(
        "welch", help="test of log2 fold against the control group", choices=(*TESTS, None)
    )
    p_adjust: str = option(
        "holm", help="multiple-testing correction", choices=("holm", "bh", "none")
    )
    linear_tolerance: float = option(
        0.10, help="relative deviation from the dilution-series line that ends the linear range",
        check=lambda v: 0 < v < 1, expected="a fraction between 0 and 1",
    )  # fmt: skip


@dataclass(frozen=True)
class NormalizeResult:
    """Result of :func:`normalize` (module docstring for each table).

    Attributes
    ----------
    normalized, replicates, stats, purity, linearity : pandas.DataFrame
        The tables (``docs/schemas.md``, "Blot normalisation").
    settings : NormalizeSettings
        The settings used.
    """

    normalized: pd.DataFrame
    replicates: pd.DataFrame
    stats: pd.DataFrame
    purity: pd.DataFrame
    linearity: pd.DataFrame
    settings: NormalizeSettings

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables by name, in the order they are written."""
        return {
            "normalized": self.normalized,
            "replicates": self.replicates,
            "stats": self.stats,
            "purity": self.purity,
            "linearity": self.linearity,
        }


_UNSET: Any = object()


def normalize(
    bands: pd.DataFrame,
    loading: str | None = _UNSET,
    control: str | None = _UNSET,
    *,
    settings: NormalizeSettings | None = None,
    **options: Any,
) -> NormalizeResult:
    """Normalise band volumes to a loading control and to the control lanes.

    Parameters
    ----------
    bands : pandas.DataFrame
        One row per image × lane × band with at least ``lane``, ``target`` and ``volume``
        (``image``, ``sample``, ``saturated``, ``status`` and layout columns such as
        ``condition``, ``fraction``, ``role``, ``amount_ug`` are used when present).
    loading : str or None
        The loading-control target (``'GAPDH'``, ``'b-actin'``, ``'total protein'``...);
        None gives folds of raw volumes. Default: ``settings.loading`` (``'GAPDH'``).
    control : str, optional
        The control group (a value of ``group_col``). Default: ``settings.control``.
    settings : NormalizeSettings, optional
        All options; keyword ``options`` (names of :class:`NormalizeSettings`) override it.

    Returns
    -------
    NormalizeResult
        ``normalized``, ``replicates``, ``stats``, ``purity``, ``linearity``.

    Raises
    ------
    AnalysisError
        Missing columns, a target measured twice in one lane, or a control group that is
        in no lane (its name and the groups present are given).
    SettingsError
        An unknown option or invalid value.
    """
    given = {k: v for k, v in (("loading", loading), ("control", control)) if v is not _UNSET}
    s = settings or NormalizeSettings()
    if given or options:
        s = s.replace(**given, **options)
    b = _prepare(bands, s)
    group_col = "group"
    lin = _linearity(b, s)
    rows = _ratios(b, s, lin)
    norm = _folds(rows, s)
    reps = _replicates(norm)
    stats = _stats(norm, s, group_col)
    purity = _purity(b, s)
    return NormalizeResult(norm, reps, stats, purity, lin, s)


def _prepare(bands: pd.DataFrame, s: NormalizeSettings) -> pd.DataFrame:
    if not isinstance(bands, pd.DataFrame):
        raise AnalysisError(
            "bands must be a table", expected="a pandas DataFrame", found=type(bands).__name__
        )
    missing = [c for c in ("lane", "target", "volume") if c not in bands.columns]
    if missing:
        raise AnalysisError("bands table lacks columns for normalisation", column=missing[0],
                            expected="lane, target, volume", found=", ".join(map(str, bands.columns)))  # fmt: skip
    b = bands.copy()
    b = b.loc[b["target"].notna() & (b["target"].astype(str) != "")].copy()
    for col, default in (
        ("image", ""),
        ("sample", ""),
        ("fraction", ""),
        ("role", ""),
        ("status", "ok"),
    ):
        if col not in b.columns:
            b[col] = default
        b[col] = b[col].astype(object).where(b[col].notna(), default).astype(str)
    b["saturated"] = (
        b["saturated"].fillna(False).astype(bool) if "saturated" in b.columns else False
    )
    b["volume"] = pd.to_numeric(b["volume"], errors="coerce").astype(float)
    b["amount_ug"] = (
        pd.to_numeric(b["amount_ug"], errors="coerce") if "amount_ug" in b.columns else np.nan
    )
    gcol = s.group_col or ("condition" if "condition" in b.columns else "sample")
    if gcol not in b.columns:
        raise AnalysisError("group column missing from bands", column=gcol,
                            expected=f"a column '{gcol}' (set group_col)", found=", ".join(map(str, b.columns)))  # fmt: skip
    b["group"] = b[gcol].astype(object).where(b[gcol].notna(), "").astype(str)
    if s.group_col is None and gcol == "condition":  # lanes without a condition: their sample
        b["group"] = b["group"].where(b["group"] != "", b["sample"])
    b["target"] = b["target"].astype(str)
    dup = b.duplicated(["image", "lane", "target"], keep=False)
    if dup.any():
        r = b.loc[dup].iloc[0]
        raise AnalysisError("a target is measured more than once in a lane", lane=int(r["lane"]), target=r["target"],
                            expected="one band per image × lane × target (name the bands apart)",
                            found=f"{int(dup.sum())} rows")  # fmt: skip
    if s.control is not None and s.control not in set(b["group"]):
        raise AnalysisError("control group not found in any lane", sample=s.control, key="control",
                            expected="one of: " + ", ".join(sorted(set(b["group"]))), found=repr(s.control))  # fmt: skip
    return b.reset_index(drop=True)


def _is_fraction(value: str, prefixes: tuple[str, ...]) -> bool:
    v = value.strip().lower()
    return any(v == p or (len(p) > 1 and v.startswith(p)) for p in prefixes)


def _loading_for(fraction: str, s: NormalizeSettings) -> str | None:
    if s.nuclear_loading and _is_fraction(fraction, _NUCLEAR):
        return s.nuclear_loading
    return s.loading


def _range_flags(volume: float, image: str, target: str, lin: pd.DataFrame, prefix: str) -> str:
    if lin.empty or not math.isfinite(volume):
        return ""
    m = lin.loc[(lin["image"] == image) & (lin["target"] == target) & (lin["status"] == "ok")]
    if m.empty:
        return ""
    r = m.iloc[0]
    if volume > r["volume_max"] * (1 + r["tolerance"]):
        return f"{prefix}_above_linear_range"
    if volume < r["volume_min"] * (1 - r["tolerance"]):
        return f"{prefix}_below_linear_range"
    return ""


def _ratios(b: pd.DataFrame, s: NormalizeSettings, lin: pd.DataFrame) -> pd.DataFrame:
    loads = {s.loading, s.nuclear_loading} - {None}
    samples = b.loc[~b["role"].str.lower().isin(_STANDARD_ROLES + ("ladder",))]
    key = samples.set_index(["image", "lane", "target"])
    out = []
    for _, r in samples.loc[~samples["target"].isin(loads)].iterrows():
        load = _loading_for(r["fraction"], s)
        flags = (
            []
            if r["status"] != "not_found" and math.isfinite(r["volume"])
            else ["target_not_found"]
        )
        if r["saturated"]:
            flags.append("target_saturated")
        if math.isfinite(r["volume"]) and r["volume"] <= 0:
            flags.append("target_not_positive")
        flags.append(_range_flags(r["volume"], r["image"], r["target"], lin, "target"))
        lv, ratio = math.nan, math.nan
        if load is not None:
            k = (r["image"], r["lane"], load)
            if k not in key.index:
                flags.append("loading_missing")
            else:
                lr = key.loc[k]
                lv = float(lr["volume"])
                if lr["saturated"]:
                    flags.append("loading_saturated")
                flags.append(_range_flags(lv, r["image"], load, lin, "loading"))
                if not math.isfinite(lv):
                    flags.append("loading_missing")  # the layout expects it but no band was found
                elif lv <= 0:
                    flags.append("loading_not_positive")
                else:
                    ratio = r["volume"] / lv
        else:
            ratio = r["volume"]
        rec = r.to_dict()
        rec.update(
            loading=load or "", loading_volume=lv, ratio=ratio, status=join_flags(*flags) or "ok"
        )
        out.append(rec)
    df = pd.DataFrame(out)
    if df.empty:
        return pd.DataFrame(columns=[*NORMALIZED_COLUMNS])
    # normalisation factor: loading volume relative to the mean of the image's usable loading volumes
    usable = df["loading_volume"].where(
        np.isfinite(df["loading_volume"]) & (df["loading_volume"] > 0)
    )
    per_lane = df.drop_duplicates(["image", "lane"]).assign(_u=usable)
    mean_load = per_lane.groupby("image")["_u"].mean()
    df["normalization_factor"] = usable / df["image"].map(mean_load).astype(float)
    if s.loading is None:
        df["normalization_factor"] = 1.0
    df["normalized_volume"] = df["volume"] / df["normalization_factor"]
    return df


def _folds(df: pd.DataFrame, s: NormalizeSettings) -> pd.DataFrame:
    if df.empty:
        return df[[*NORMALIZED_COLUMNS]]
    df = df.copy()
    ctrl_ratio = np.full(len(df), np.nan)
    n_ctrl = np.zeros(len(df), dtype=np.int64)
    status = df["status"].tolist()
    ok_ratio = np.isfinite(df["ratio"].to_numpy(float)) & (df["ratio"].to_numpy(float) > 0)
    for _, idx in df.groupby(["image", "fraction", "target"], sort=False).indices.items():
        sub = df.iloc[idx]
        if s.control is None:
            for i in idx:
                status[i] = join_flags(status[i] if status[i] != "ok" else "", "no_control")
            continue
        is_ctrl = (sub["group"] == s.control).to_numpy()
        usable = is_ctrl & ok_ratio[idx]
        n_ctrl[idx] = int(usable.sum())
        extra = ""
        if not is_ctrl.any():
            extra = "no_control_lane"
        elif not usable.any():
            extra = "control_unusable"
        else:
            ctrl_ratio[idx] = float(sub["ratio"].to_numpy(float)[usable].mean())
            if (sub["status"].to_numpy()[is_ctrl] != "ok").any():
                extra = "control_flagged"
        if extra:
            for i in idx:
                status[i] = join_flags(status[i] if status[i] != "ok" else "", extra)
    df["control_ratio"] = ctrl_ratio
    df["n_control_lanes"] = n_ctrl
    df["fold"] = df["ratio"] / df["control_ratio"]
    with np.errstate(divide="ignore", invalid="ignore"):
        df["log2_fold"] = np.log2(df["fold"].where(df["fold"] > 0))
    df["status"] = [st or "ok" for st in status]
    extra_cols = [c for c in df.columns if c not in NORMALIZED_COLUMNS and c not in ("role", "saturated", "band")
                  and not c.startswith("_") and c in ("condition", "replicate", "blot", "amount_ug")]  # fmt: skip
    return df[[*NORMALIZED_COLUMNS, *extra_cols]].reset_index(drop=True)


def _replicates(norm: pd.DataFrame) -> pd.DataFrame:
    cols = ["target", "fraction", "group", "n", "n_flagged", "mean_fold", "sd_fold", "sem_fold", "cv_fold_pct",
            "geomean_fold", "mean_ratio", "n_images"]  # fmt: skip
    if norm.empty:
        return pd.DataFrame(columns=cols)
    rows = []
    for (t, f, g), sub in norm.groupby(["target", "fraction", "group"], sort=False):
        fold = sub["fold"].to_numpy(float)
        good = np.isfinite(fold)
        x = fold[good]
        n = int(good.sum())
        sd = float(np.std(x, ddof=1)) if n > 1 else math.nan
        mean = float(x.mean()) if n else math.nan
        pos = x[x > 0]
        rows.append({
            "target": t, "fraction": f, "group": g, "n": n, "n_flagged": int((sub["status"] != "ok").sum()),
            "mean_fold": mean, "sd_fold": sd, "sem_fold": sd / math.sqrt(n) if n > 1 else math.nan,
            "cv_fold_pct": 100 * sd / mean if n > 1 and mean else math.nan,
            "geomean_fold": float(np.exp(np.log(pos).mean())) if len(pos) else math.nan,
            "mean_ratio": float(np.nanmean(sub["ratio"].to_numpy(float))) if sub["ratio"].notna().any() else math.nan,
            "n_images": int(sub["image"].nunique()),
        })  # fmt: skip
    return pd.DataFrame(rows, columns=cols)


def _stats(norm: pd.DataFrame, s: NormalizeSettings, group_col: str) -> pd.DataFrame:
    from assaykit.stats import compare_groups, empty_result

    by = ["target", "fraction"]
    if s.test is None or s.control is None or norm.empty:
        return empty_result(by)
    d = norm.loc[np.isfinite(norm["log2_fold"].to_numpy(float))]
    pieces = []
    for key, sub in d.groupby(by, sort=False):
        if s.control not in set(sub[group_col]) or sub[group_col].nunique() < 2:
            continue
        res = compare_groups(
            sub, "log2_fold", group_col, control=s.control, test=s.test, p_adjust_method=s.p_adjust
        )
        pieces.append(res.assign(target=key[0], fraction=key[1]))
    if not pieces:
        return empty_result(by)
    out = pd.concat(pieces, ignore_index=True)
    return out[[*by, *[c for c in out.columns if c not in by]]]


def _purity(b: pd.DataFrame, s: NormalizeSettings) -> pd.DataFrame:
    cols = ["image", "lane", "sample", "group", "fraction", "marker", "marker_volume", "reference_lane",
            "reference_volume", "contamination_pct", "purity_pct", "status"]  # fmt: skip
    frac = b["fraction"]
    nuc, cyt = (
        frac.map(lambda v: _is_fraction(v, _NUCLEAR)),
        frac.map(lambda v: _is_fraction(v, _CYTO)),
    )
    if not (nuc.any() and cyt.any()):
        return pd.DataFrame(columns=cols)
    rows = []
    for lane_mask, own_mask, marker in (
        (cyt, nuc, s.nuclear_marker),
        (nuc, cyt, s.cytoplasmic_marker),
    ):
        here = b.loc[lane_mask & (b["target"] == marker)]
        ref = b.loc[own_mask & (b["target"] == marker)]
        for _, r in here.iterrows():
            same_img = ref.loc[ref["image"] == r["image"]]
            match = same_img.loc[same_img["group"] == r["group"]]
            use = match if len(match) else same_img
            rv = float(use["volume"].mean()) if len(use) else math.nan
            ref_lane = (
                str(int(match["lane"].iloc[0])) if len(match) == 1 else ("mean" if len(use) else "")
            )
            status = "ok" if len(use) and rv > 0 else "no_reference"
            if r["saturated"] or (len(use) and use["saturated"].any()):
                status = join_flags(status if status != "ok" else "", "saturated")
            pct = 100 * r["volume"] / rv if status != "no_reference" else math.nan
            rows.append({"image": r["image"], "lane": r["lane"], "sample": r["sample"], "group": r["group"],
                         "fraction": r["fraction"], "marker": marker, "marker_volume": r["volume"],
                         "reference_lane": ref_lane, "reference_volume": rv, "contamination_pct": pct,
                         "purity_pct": 100 - pct, "status": status})  # fmt: skip
    return pd.DataFrame(rows, columns=cols)


def linear_range(amount: np.ndarray, volume: np.ndarray, tolerance: float = 0.10) -> dict[str, Any]:
    """The linear range of a dilution series (volume against amount loaded).

    Starting from all points, the highest amount is dropped while a straight line fitted
    by least squares to the remaining points misses one of them by more than
    ``tolerance`` (relative to the fitted value) or while their R² is below 0.98; at least
    3 points must remain.

    Parameters
    ----------
    amount, volume : array-like
        The series (any order; non-finite pairs are ignored).
    tolerance : float
        Relative deviation that ends the linear range.

    Returns
    -------
    dict
        ``n_points``, ``n_linear``, ``slope``, ``intercept``, ``r_squared``,
        ``amount_min``, ``amount_max`` (the linear range in amounts), ``volume_min``,
        ``volume_max`` (the same in volumes), ``tolerance`` and ``status`` (``'ok'``,
        ``'too_few_points'`` or ``'not_linear'``).
    """
    a, v = np.asarray(amount, float), np.asarray(volume, float)
    good = np.isfinite(a) & np.isfinite(v)
    a, v = a[good], v[good]
    order = np.argsort(a)
    a, v = a[order], v[order]
    out: dict[str, Any] = {"n_points": int(len(a)), "n_linear": 0, "slope": math.nan, "intercept": math.nan,
                           "r_squared": math.nan, "amount_min": math.nan, "amount_max": math.nan,
                           "volume_min": math.nan, "volume_max": math.nan, "tolerance": tolerance}  # fmt: skip
    if len(a) < 3:
        return {**out, "status": "too_few_points"}
    for k in range(len(a), 2, -1):
        slope, intercept = np.polyfit(a[:k], v[:k], 1)
        fit = intercept + slope * a[:k]
        ss_res, ss_tot = (
            float(((v[:k] - fit) ** 2).sum()),
            float(((v[:k] - v[:k].mean()) ** 2).sum()),
        )
        r2 = 1 - ss_res / ss_tot if ss_tot > 0 else math.nan
        dev = np.abs(v[:k] - fit) / np.abs(np.where(fit == 0, np.nan, fit))
        if np.nanmax(dev) <= tolerance and r2 >= 0.98:
            return {**out, "n_linear": k, "slope": float(slope), "intercept": float(intercept), "r_squared": r2,
                    "amount_min": float(a[0]), "amount_max": float(a[k - 1]), "volume_min": float(v[:k].min()),
                    "volume_max": float(v[:k].max()), "status": "ok"}  # fmt: skip
    return {**out, "status": "not_linear"}


def _linearity(b: pd.DataFrame, s: NormalizeSettings) -> pd.DataFrame:
    cols = ["image", "target", "n_points", "n_linear", "slope", "intercept", "r_squared", "amount_min", "amount_max",
            "volume_min", "volume_max", "tolerance", "n_saturated_points", "status"]  # fmt: skip
    std = b.loc[
        b["role"].str.lower().isin(_STANDARD_ROLES) & np.isfinite(b["amount_ug"].astype(float))
    ]
    rows = []
    for (img, target), sub in std.groupby(["image", "target"], sort=False):
        res = linear_range(
            sub["amount_ug"].to_numpy(float), sub["volume"].to_numpy(float), s.linear_tolerance
        )
        rows.append(
            {
                "image": img,
                "target": target,
                **res,
                "n_saturated_points": int(sub["saturated"].sum()),
            }
        )
    return pd.DataFrame(rows, columns=cols)
