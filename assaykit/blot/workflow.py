"""The blot workflow: images or band tables → bands → layout → normalised quantities.

:func:`run` is what ``assaykit blot`` and Python users call::

    from assaykit.blot.workflow import run, settings_class
    s = settings_class().from_mapping({"loading": "GAPDH", "control": "veh"})
    res = run(["blot1.tif", "blot2.tif"], s, layout="layout.toml")
    res.tables()["normalized"]

Each input is a blot image (TIFF/PNG file, :class:`~assaykit.images.BlotImage` or 2-D
array: quantified with :func:`assaykit.blot.quantify`), a band table exported by ImageJ,
Image Lab or Image Studio (a file read as kind ``blot_bands``), or a bands DataFrame.
Several inputs are replicate blots: their bands are stacked (``image`` tells them apart),
each normalised to its own control lanes, and the folds combined in ``replicates`` and
``stats``. Images are quantified one by one with a progress bar, or on any
``concurrent.futures.Executor`` (a dask ``Client.get_executor()`` works).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from assaykit.blot._result import BlotResult, QuantifyResult
from assaykit.blot.layout import BlotLayout, apply_layout, read_layout
from assaykit.blot.normalize import NormalizeSettings, normalize
from assaykit.blot.settings import BlotSettings, QuantifySettings
from assaykit.errors import AnalysisError
from assaykit.images import BlotImage
from assaykit.settings import Settings

__all__ = ["run", "settings_class"]

_IMAGE_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+", b"\x89PNG\r\n\x1a\n")


def settings_class() -> type[BlotSettings]:
    """The settings class of the whole ``[blot]`` table (:class:`~assaykit.blot.settings.BlotSettings`:
    quantification and normalisation settings side by side)."""
    return BlotSettings


def _parts(settings: Settings | None) -> tuple[Settings, QuantifySettings, NormalizeSettings]:
    s = settings if settings is not None else settings_class()()
    if isinstance(s, QuantifySettings):
        return s, s, NormalizeSettings()
    if isinstance(s, NormalizeSettings):
        return s, QuantifySettings(), s
    q = getattr(s, "quantify", None) or QuantifySettings()
    n = getattr(s, "normalize", None) or NormalizeSettings()
    return s, q, n


def _is_image_file(path: str | os.PathLike) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError:
        return False
    return any(head.startswith(m) for m in _IMAGE_MAGIC)


def _quantify_one(item: Any, qs: QuantifySettings, boxes: Any) -> QuantifyResult:
    from assaykit.blot.quantify import quantify

    return quantify(item, boxes=boxes, settings=qs)


def _classify(item: Any) -> str:
    if isinstance(item, pd.DataFrame):
        return "bands"
    if isinstance(item, BlotImage | np.ndarray):
        return "image"
    if isinstance(item, str | os.PathLike):
        if not Path(item).exists():
            raise AnalysisError(
                "input file not found", file=str(item), expected="a blot image or a band table"
            )
        return "image" if _is_image_file(item) else "table"
    raise AnalysisError("unknown blot input", expected="an image file, a band table file, a BlotImage, an array or a "
                        "bands DataFrame", found=type(item).__name__)  # fmt: skip


def _as_layout(layout: BlotLayout | str | os.PathLike | None) -> BlotLayout | None:
    if layout is None or isinstance(layout, BlotLayout):
        return layout
    return read_layout(layout)


def run(
    data: Any,
    settings: Settings | None = None,
    *,
    layout: BlotLayout | str | os.PathLike | Sequence[BlotLayout | str | os.PathLike] | None = None,
    boxes: pd.DataFrame | str | os.PathLike | None = None,
    progress: bool = False,
    executor: Executor | None = None,
) -> BlotResult:
    """Quantify (or import) one or several blots and normalise them.

    Parameters
    ----------
    data : image, band table, DataFrame, or a sequence of them
        See the module docstring.
    settings : BlotSettings, optional
        The ``[blot]`` options (quantification and normalisation); defaults otherwise.
        A :class:`QuantifySettings` or :class:`NormalizeSettings` alone is accepted too.
    layout : BlotLayout or path, or one per input, optional
        Lane → sample and row → target (:func:`assaykit.blot.layout.read_layout`). Without
        a lane count and boxes, an image has as many lanes as its layout names.
    boxes : DataFrame or CSV path, optional
        Band boxes for the images (``lane, x, y, w, h`` and optionally ``target``).
    progress : bool
        Show a progress bar over the inputs.
    executor : concurrent.futures.Executor, optional
        Quantify images on it (``executor.map``).

    Returns
    -------
    BlotResult
        ``bands`` (all inputs), ``normalized`` and, in ``extra``, ``replicates``,
        ``stats``, ``purity`` and ``linearity`` (:mod:`assaykit.blot.normalize`).

    Raises
    ------
    AnalysisError
        An input that is neither an image nor a band table, a missing file, no bands.
    """
    s, qs, ns = _parts(settings)
    items = list(data) if isinstance(data, list | tuple) else [data]
    if not items:
        raise AnalysisError("no blot given", expected="at least one image or band table")
    layouts = _layouts(layout, len(items))
    kinds = [_classify(it) for it in items]
    images = [
        (it, _lane_count(qs, lay, boxes))
        for it, k, lay in zip(items, kinds, layouts, strict=True)
        if k == "image"
    ]
    quantified = _quantify_all(images, boxes, progress, executor)
    q_iter = iter(quantified)
    frames = []
    for item, kind, lay in zip(items, kinds, layouts, strict=True):
        if kind == "image":
            bands = next(q_iter).bands
        elif kind == "table":
            from assaykit.kinds import read

            bands = read(item, "blot_bands")
        else:
            bands = item.copy()
        frames.append(apply_layout(bands, lay) if lay is not None else bands)
    bands = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    if bands.empty:
        raise AnalysisError("no bands to normalise", expected="bands in at least one lane",
                            found="an empty bands table (give --lanes or --boxes)")  # fmt: skip
    res = normalize(bands, settings=ns)
    extra = {k: v for k, v in res.tables().items() if k != "normalized"}
    return BlotResult(tuple(quantified), bands, res.normalized, s, extra)


def _layouts(layout: Any, n: int) -> list[BlotLayout | None]:
    if isinstance(layout, list | tuple):
        if len(layout) != n:
            raise AnalysisError("one layout per input needed", key="layout", expected=f"{n} layouts",
                                found=str(len(layout)))  # fmt: skip
        return [_as_layout(x) for x in layout]
    one = _as_layout(layout)
    return [one] * n


def _lane_count(qs: QuantifySettings, layout: BlotLayout | None, boxes: Any) -> QuantifySettings:
    """The layout says how many lanes the image has when neither a count nor boxes are given."""
    if layout is None or boxes is not None or qs.lanes is not None:
        return qs
    return qs.replace(lanes=int(layout.lanes["lane"].max()))


def _quantify_all(images: list[tuple[Any, QuantifySettings]], boxes: Any, progress: bool,
                  executor: Executor | None) -> list[QuantifyResult]:  # fmt: skip
    if not images:
        return []
    from tqdm.auto import tqdm

    items, settings = [x for x, _ in images], [q for _, q in images]
    if executor is not None:
        it = executor.map(_quantify_one, items, settings, [boxes] * len(items))
    else:
        it = (_quantify_one(x, q, boxes) for x, q in images)
    return list(tqdm(it, total=len(items), desc="blots", unit="image", disable=not progress))
