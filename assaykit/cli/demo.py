"""``assaykit demo``: run every available demo part on the bundled sample data.

A *demo part* is a module ``assaykit/cli/demo_<name>.py`` defining
``run(outdir: Path) -> list[Path]``: it reads bundled data from
:mod:`assaykit.datasets`, runs one workflow and writes its tables, figures and
workbook into ``outdir`` (its own subfolder of the demo folder), returning the paths
written. Parts are listed in :data:`DEMO_PARTS`; a part whose module does not exist
(yet) is skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from importlib import import_module
from pathlib import Path

import click

__all__ = ["DEMO_PARTS", "available_parts", "demo", "run_demo"]

#: Demo parts, in the order they run.
DEMO_PARTS: tuple[str, ...] = ("plate", "elisa", "qpcr", "flow", "blot")


def available_parts() -> dict[str, Callable[[Path], list[Path]]]:
    """Return the demo parts whose module exists.

    Returns
    -------
    dict
        ``{name: run}`` in :data:`DEMO_PARTS` order.

    Raises
    ------
    ModuleNotFoundError
        If a part's module exists but needs a module that is not installed.
    """
    parts: dict[str, Callable[[Path], list[Path]]] = {}
    for name in DEMO_PARTS:
        modname = f"assaykit.cli.demo_{name}"
        try:
            module = import_module(modname)
        except ModuleNotFoundError as exc:
            if exc.name != modname:
                raise
            continue
        parts[name] = module.run
    return parts


def run_demo(
    outdir: str | Path,
    parts: Iterable[str] | None = None,
    *,
    echo: Callable[[str], None] | None = None,
) -> dict[str, list[Path]]:
    """Run demo parts, each writing into ``outdir/<part>``.

    Parameters
    ----------
    outdir : str or path
        Demo folder (created if needed).
    parts : iterable of str, optional
        Names of the parts to run (default: every available part).
    echo : callable, optional
        Called with one progress line per file written.

    Returns
    -------
    dict
        Part name → paths written.
    """
    out = Path(outdir)
    available = available_parts()
    names = list(available) if parts is None else list(parts)
    written: dict[str, list[Path]] = {}
    out.mkdir(parents=True, exist_ok=True)
    for name in names:
        sub = out / name
        sub.mkdir(exist_ok=True)
        paths = [Path(p) for p in available[name](sub)]
        written[name] = paths
        if echo is not None:
            for p in paths:
                echo(f"{name}: wrote {p}")
    return written


def _check_parts(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> tuple[str, ...]:
    available = available_parts()
    unknown = [v for v in value if v not in available]
    if unknown:
        raise click.BadParameter(f"unknown part {unknown[0]!r}; available: {', '.join(available)}")
    return value


@click.command("demo")
@click.option(
    "-o",
    "--output",
    "outdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("assaykit-demo"),
    show_default=True,
    help="Folder to write into (created if needed).",
)
@click.option("--part", "parts", multiple=True, callback=_check_parts, help="Run only this part (repeatable).")
def demo(outdir: Path, parts: tuple[str, ...]) -> None:
    """Run the main jobs on the bundled sample data.

    Each workflow's demo reads the example exports shipped in assaykit.datasets
    and writes tidy tables (CSV), figures (PNG) and an Excel workbook into its own
    subfolder of the output folder.
    """
    written = run_demo(outdir, parts or None, echo=click.echo)
    n = sum(len(v) for v in written.values())
    click.echo(f"demo: {n} files written to {outdir} ({', '.join(written) or 'no parts available'})")
