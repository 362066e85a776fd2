"""Western blots: from blot images to band volumes and normalised quantities.

Pure functions from images and tidy tables to frozen results (this package imports no
reader: images are read through :func:`assaykit.kinds.read`, kind ``blot_image``).

* :func:`read_image` — a TIFF/PNG file → :class:`~assaykit.images.BlotImage` (2-D
  read-only pixels, bit depth, polarity, saturation value, pixel size).
* :func:`find_lanes` — projection-profile lane detection → DataFrame ``lane, x_left,
  x_right, x_center``.
* :func:`quantify` — background subtraction (ImageJ-equivalent rolling ball, sliding
  paraboloid, lane profile, median border, none), lanes, bands (peak fitting for
  overlapping bands), volumes and saturation → :class:`QuantifyResult` with ``.bands``
  (``docs/schemas.md``, "Blot bands").
* :func:`normalize` — target / loading ratios and folds versus the control lane.
* :func:`subtract_background` — the background methods on their own.

Polarity names the background tone (``'dark'``: bright bands on a dark background, raw
camera counts; ``'light'``: dark bands on a light background, film scans); see
:mod:`assaykit.images`. Methods, formulas and limits: ``docs/blot.md``.
"""

from __future__ import annotations

import os

from assaykit.blot._result import BlotResult, QuantifyResult
from assaykit.blot.background import subtract_background
from assaykit.blot.lanes import find_lanes
from assaykit.blot.normalize import normalize
from assaykit.blot.quantify import quantify
from assaykit.blot.settings import BACKGROUND_METHODS, PEAK_SHAPES, BlotSettings, QuantifySettings
from assaykit.images import BlotImage

__all__ = [
    "BACKGROUND_METHODS",
    "PEAK_SHAPES",
    "BlotImage",
    "BlotResult",
    "BlotSettings",
    "QuantifyResult",
    "QuantifySettings",
    "find_lanes",
    "normalize",
    "quantify",
    "read_image",
    "subtract_background",
]


def read_image(
    path: str | os.PathLike,
    *,
    polarity: str | None = None,
    saturation: float | None = None,
    format: str | None = None,
) -> BlotImage:
    """Read a blot or gel image.

    Parameters
    ----------
    path : str or path-like
        8/16-bit greyscale TIFF (uncompressed, LZW, deflate, packbits), 32-bit float TIFF
        or PNG. RGB images are converted to grey with an
        :class:`~assaykit.errors.AssaykitWarning`.
    polarity : {'dark', 'light'}, optional
        Override the detected background tone (``'dark'``: bright bands on a dark
        background; ``'light'``: dark bands on a light background).
    saturation : float, optional
        Override the raw value of a saturated pixel (default: the detector maximum
        ``2**bit_depth − 1`` on dark images, 0 on light images).
    format : {'tiff', 'png'}, optional
        Force a reader; by default the format is recognised from the file's first bytes.

    Returns
    -------
    BlotImage
        ``array`` (2-D, read-only), ``bit_depth``, ``polarity``, ``saturation``,
        ``pixel_size``/``pixel_unit`` (when the file stores a resolution), ``name``.

    Raises
    ------
    ReaderError
        If the file is missing, not an image, truncated or corrupt (naming the file).

    Examples
    --------
    >>> img = read_image("blot.tif")  # doctest: +SKIP
    >>> img.bit_depth, img.polarity  # doctest: +SKIP
    (16, 'dark')
    """
    from dataclasses import replace

    from assaykit.kinds import read

    image = read(path, "blot_image", format)
    if polarity is not None:
        image = image.with_polarity(polarity)
    if saturation is not None:
        image = replace(image, saturation=float(saturation))
    return image
