"""Typed settings of blot quantification (``[blot]`` table of a protocol or layout, CLI options).

:class:`QuantifySettings` holds every option of :func:`assaykit.blot.quantify` (image,
background, lanes, bands); :class:`BlotSettings` is the whole ``[blot]`` table used by the
workflow layer and the CLI: it nests :class:`QuantifySettings` (and the normalisation
settings of :mod:`assaykit.blot.normalize`).
"""

from __future__ import annotations

from dataclasses import dataclass

from assaykit.blot.normalize import NormalizeSettings
from assaykit.settings import Settings, option

__all__ = ["BACKGROUND_METHODS", "PEAK_SHAPES", "BlotSettings", "QuantifySettings"]

#: Background methods (canonical names; ``rolling-ball`` spellings with hyphens are accepted).
BACKGROUND_METHODS: dict[str, str] = {
    "rolling_ball": "ImageJ 'Subtract Background' rolling ball (3x3 smoothing, shrink, trimmed ball, "
    "erosion then dilation, interpolated enlargement)",
    "lane_profile": "straight baseline between the lane-profile minima on either side of each band",
    "median_border": "median of a border strip above and below each box (Image Studio 'Median, Top/Bottom')",
    "none": "no background subtraction",
}

#: Peak shapes fitted to lane profiles to separate overlapping bands.
PEAK_SHAPES: tuple[str, ...] = ("pseudo_voigt", "gaussian", "none")


def _aliases(names) -> tuple[str, ...]:
    names = tuple(names)
    return names + tuple(n.replace("_", "-") for n in names if "_" in n)


@dataclass(frozen=True)
class QuantifySettings(Settings):
    """Options of :func:`assaykit.blot.quantify` (image → lanes → bands → volumes)."""

    section = "blot"

    background: str = option(
        "rolling_ball", help="background method", choices=_aliases(BACKGROUND_METHODS)
    )
    radius: float = option(
        50.0, help="rolling-ball / paraboloid radius in pixels", check=lambda v: 0 < v <= 10_000,
        expected="a radius in pixels > 0",
    )
    smooth: bool = option(True, help="3x3 mean pre-smoothing before the rolling ball (ImageJ default)")
    border: int = option(
        3, help="width in pixels of the median_border strips", check=lambda v: 1 <= v <= 100,
        expected="an integer from 1 to 100",
    )
    polarity: str | None = option(
        None, help="background tone: dark (bright bands) or light (dark bands); detected when not given",
        choices=("dark", "light", None),
    )
    saturation: float | None = option(
        None, help="raw pixel value of a saturated pixel (default: detector maximum, or 0 on light images)",
    )
    lanes: int | None = option(
        None, help="number of lanes (automatic detection when not given)", check=lambda v: v >= 1,
        expected="a lane count >= 1",
    )
    peak_shape: str = option(
        "pseudo_voigt", help="peak shape fitted to separate overlapping bands", choices=_aliases(PEAK_SHAPES)
    )
    min_prominence: float = option(
        0.01, help="band detection: minimum peak prominence as a fraction of the lane's strongest band",
        check=lambda v: 0 < v < 1, expected="a fraction between 0 and 1",
    )
    box_sigmas: float = option(
        4.0, help="half height of automatic band boxes in band sigmas", check=lambda v: 0.5 <= v <= 20,
        expected="a number from 0.5 to 20",
    )

    def __post_init__(self) -> None:
        for name in ("background", "peak_shape"):
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, value.strip().lower().replace("-", "_"))
        super().__post_init__()


@dataclass(frozen=True)
class BlotSettings(Settings):
    """The ``[blot]`` table: quantification settings (and normalisation settings, nested).

    Keys of the nested settings sit at the same level of the table (``radius = 50`` and
    ``loading = "GAPDH"`` side by side).
    """

    section = "blot"

    quantify: QuantifySettings = option(
        default_factory=QuantifySettings, nested=True, help="image, lanes, bands and background"
    )
    normalize: NormalizeSettings = option(
        default_factory=NormalizeSettings, nested=True, help="ratios, folds, fractions, replicates"
    )
