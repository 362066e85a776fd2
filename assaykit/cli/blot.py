"""``assaykit blot``: western-blot images (or exported band tables) to normalised quantities.

::

    assaykit blot IMAGE [IMAGE ...] [--layout L.toml] [--lanes N | --boxes boxes.csv]
                  [--background rolling-ball --radius 50] [--loading GAPDH --control veh]
                  [--protocol P] -o DIR

Each input is a blot image (TIFF/PNG) or a band table exported by ImageJ, Image Lab or
Image Studio; several inputs are replicate blots. The command reads, calls
:func:`assaykit.blot.workflow.run` and writes into the output folder:

* ``bands.csv`` (one row per image × lane × band), ``normalized.csv`` (target / loading
  ratios and folds), ``replicates.csv``, ``stats.csv``, ``purity.csv``, ``linearity.csv``
  and ``lanes.csv`` (when images were quantified);
* ``results.xlsx``: the same tables after an ``info`` sheet listing every option and the
  inputs' SHA-256;
* per image: ``annotated_<image>.png`` (lanes, band boxes, saturated pixels in magenta)
  and ``profiles_<image>.png`` (lane profiles with baseline and fitted peaks);
* ``fold_chart.png``: fold versus control per group, lanes and replicate blots as points.

Options are merged in this order, later wins: built-in defaults, the ``[blot]`` table of a
protocol (``--protocol``), the ``[blot]`` table of the layout, command-line options. Their
names are those of :class:`~assaykit.blot.settings.QuantifySettings` and
:class:`~assaykit.blot.normalize.NormalizeSettings` (``docs/blot.md``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import click

from assaykit.cli._options import given_options, settings_options

__all__ = ["blot", "run_blot"]


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._+-]+", "_", str(name)).strip("_") or "blot"


def _settings(protocol: str | os.PathLike | None, layout: Any, options: Mapping[str, Any] | None):
    from assaykit.blot.workflow import settings_class
    from assaykit.protocols import read_protocol_table

    cls = settings_class()
    proto, where_p = ({}, None)
    if protocol is not None:
        proto, p = read_protocol_table(protocol, "blot")
        where_p = str(p)
    lay = dict(layout.settings) if layout is not None else {}
    explicit = {k: v for k, v in (options or {}).items() if v is not None}
    return cls.merged(
        proto, lay, explicit, where=(where_p, layout.file if layout is not None else None, None)
    )


def run_blot(
    inputs: Sequence[str | os.PathLike],
    outdir: str | os.PathLike,
    *,
    layout: str | os.PathLike | None = None,
    boxes: str | os.PathLike | None = None,
    protocol: str | os.PathLike | None = None,
    options: Mapping[str, Any] | None = None,
    command: str = "assaykit blot",
    figures: bool = True,
) -> tuple[Any, list[Path]]:
    """Run the blot workflow on files and write its tables, workbook and figures.

    Parameters
    ----------
    inputs : sequence of path
        Blot images and/or exported band tables (replicate blots).
    outdir : path
        Output folder (created if needed).
    layout : path, optional
        Blot layout (TOML or CSV), used for every input.
    boxes : path, optional
        Band boxes CSV (``lane, x, y, w, h`` and optionally ``target``).
    protocol : path or str, optional
        Protocol TOML with a ``[blot]`` table (path, or a name in ``protocols/``).
    options : mapping, optional
        Options given explicitly (override protocol and layout); ``None`` values ignored.
    command : str
        Recorded in the workbook's info sheet.
    figures : bool
        Draw the figures.

    Returns
    -------
    result : BlotResult
    paths : list of pathlib.Path
        Files written.
    """
    from assaykit.blot.layout import read_layout
    from assaykit.blot.workflow import run
    from assaykit.protocols import resolve_protocol
    from assaykit.report import write_workbook

    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    lay = read_layout(layout) if layout is not None else None
    settings = _settings(protocol, lay, options)
    res = run([Path(p) for p in inputs], settings, layout=lay, boxes=boxes, progress=len(inputs) > 1)
    tables = res.tables()
    paths: list[Path] = []
    for name, table in tables.items():
        p = out / f"{name}.csv"
        table.to_csv(p, index=False)
        paths.append(p)
    info = {"command": command, **settings.to_dict()}
    used = [*inputs, *([layout] if layout is not None else []), *([boxes] if boxes is not None else []),
            *([resolve_protocol(protocol)] if protocol is not None else [])]  # fmt: skip
    paths.append(write_workbook(tables, out / "results.xlsx", info=info, inputs=used))
    if figures:
        paths.extend(_figures(res, inputs, out))
    return res, paths


def _figures(res: Any, inputs: Sequence[str | os.PathLike], out: Path) -> list[Path]:
    from assaykit.blot import read_image
    from assaykit.report import save_figure
    from assaykit.report.blot_figures import annotated_image, fold_chart, lane_profiles

    paths = []
    images = {Path(p).name: Path(p) for p in inputs}
    for q in res.quantified:
        src = images.get(q.image) or next(
            (p for n, p in images.items() if Path(n).stem == Path(q.image).stem), None
        )
        stem = _safe(Path(q.image).stem)
        if src is not None:
            img = read_image(src, polarity=getattr(q.settings, "polarity", None))
            bands = res.bands.loc[res.bands["image"].astype(str) == str(q.image)]
            ax = annotated_image(img.array, bands, q.lanes, polarity=img.polarity, saturation=img.saturation,
                                 title=q.image)  # fmt: skip
            paths.append(save_figure(ax, out / f"annotated_{stem}.png"))
        if len(q.profiles):
            fig = lane_profiles(q.profiles, q.bands, title=q.image)
            paths.append(save_figure(fig, out / f"profiles_{stem}.png"))
    n = res.normalized
    if len(n) and n["fold"].notna().any():
        ax = fold_chart(n, res.extra.get("replicates"))
        paths.append(save_figure(ax, out / "fold_chart.png"))
    return paths


def _settings_class():
    from assaykit.blot.workflow import settings_class

    return settings_class()


@click.command("blot")
@click.argument(
    "inputs", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--layout", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Blot layout (TOML or CSV): lane -> sample, row -> target.")  # fmt: skip
@click.option("--boxes", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Band boxes CSV (lane, x, y, w, h[, target]); instead of automatic lanes and bands.")  # fmt: skip
@click.option(
    "--protocol",
    default=None,
    help="Protocol TOML with a [blot] table (path, or a name in protocols/).",
)
@settings_options(_settings_class())
@click.option("-o", "--output", "outdir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (created if needed).")  # fmt: skip
def blot(inputs: tuple[Path, ...], layout: Path | None, boxes: Path | None, protocol: str | None, outdir: Path,
         **params: Any) -> None:  # fmt: skip
    """Quantify western-blot IMAGES (or import exported band tables) and normalise them.

    Writes bands.csv, normalized.csv, replicates.csv, stats.csv, results.xlsx, an annotated
    image and lane profiles per image, and a fold chart into the output folder. Several
    inputs are replicate blots. Options may also come from a --protocol TOML or the
    layout's [blot] table.
    """
    if boxes is not None and params.get("lanes") is not None:
        raise click.UsageError("give either --lanes or --boxes, not both")
    options = given_options(_settings_class(), params)
    res, paths = run_blot(
        inputs, outdir, layout=layout, boxes=boxes, protocol=protocol, options=options
    )
    for p in paths:
        click.echo(f"wrote {p}", err=True)
    status = res.normalized["status"].value_counts() if len(res.normalized) else {}
    n_sat = int(res.bands["saturated"].sum()) if "saturated" in res.bands.columns else 0
    click.echo(f"bands: {len(res.bands)} ({n_sat} saturated); normalized: "
               + (", ".join(f"{k} {v}" for k, v in status.items()) or "none"), err=True)  # fmt: skip
