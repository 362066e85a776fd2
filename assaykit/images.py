"""Greyscale images of blots and gels: the neutral core type shared by readers and assays.

:class:`BlotImage` is what ``assaykit.io.blot`` readers return (kind ``blot_image``) and
what :mod:`assaykit.blot` analyses. It is immutable: its pixel array is read-only.

Polarity names the **background** tone, as ImageJ's "Light background" option and the
``polarity`` column of the ground-truth files in ``../shared/corpus/blot`` do:

* ``'dark'``: bright bands on a dark background (raw chemiluminescence or fluorescence
  counts from a camera: ChemiDoc, iBright, Odyssey, Amersham). Signal = pixel value;
  saturated pixels sit at the detector maximum (65535 for 16-bit, 255 for 8-bit).
* ``'light'``: dark bands on a light background (film scans, images exported
  inverted). Signal = ``white − pixel``; saturated pixels sit at 0.

Examples
--------
>>> import numpy as np
>>> img = BlotImage.from_array(np.zeros((4, 6), dtype=np.uint16), polarity="dark")
>>> img.shape, img.bit_depth, img.saturation
((4, 6), 16, 65535.0)
>>> img.array.flags.writeable
False
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

__all__ = ["POLARITIES", "BlotImage", "detect_polarity", "validate_blot_image"]

#: The two polarities (the background tone; see the module docstring).
POLARITIES: tuple[str, ...] = ("dark", "light")

Polarity = Literal["dark", "light"]


def detect_polarity(array: np.ndarray) -> str:
    """Guess the background tone of a blot image.

    The background covers most of a blot, so the median pixel sits near the background;
    bands are the minority on the other side. A median in the upper half of the image's
    value range (between its 0.1 and 99.9 percentiles) means a light background.

    Parameters
    ----------
    array : numpy.ndarray
        2-D greyscale pixels.

    Returns
    -------
    {'dark', 'light'}
    """
    a = np.asarray(array)
    step = max(1, int(np.sqrt(a.size / 250_000)))  # a subsample is enough
    sub = a[::step, ::step].astype(np.float64, copy=False)
    lo, med, hi = np.percentile(sub, [0.1, 50.0, 99.9])
    if hi <= lo:
        return "dark"
    return "light" if (med - lo) / (hi - lo) > 0.5 else "dark"


@dataclass(frozen=True)
class BlotImage:
    """One greyscale blot or gel image.

    Attributes
    ----------
    array : numpy.ndarray
        2-D pixels (rows = y from the top, columns = x from the left), ``uint8``,
        ``uint16`` or ``float32``/``float64``; read-only.
    bit_depth : int
        8 or 16 for integer images, 32 for float images.
    polarity : {'dark', 'light'}
        Background tone (see the module docstring): ``'dark'`` = bright bands on a dark
        background, ``'light'`` = dark bands on a light background.
    saturation : float
        The raw pixel value that marks a saturated (clipped) pixel: the detector maximum
        (``2**bit_depth − 1``) for ``'dark'`` images, 0 for ``'light'`` images.
    white : float
        The value signal is measured from on ``'light'`` images (signal = white − pixel):
        ``2**bit_depth − 1`` (the maximum of the data for float images).
    pixel_size : tuple of float or None
        ``(x, y)`` size of a pixel in ``pixel_unit`` when the file stores it.
    pixel_unit : str or None
        Unit of ``pixel_size`` (``'um'``, ``'cm'``, ``'inch'``).
    name : str
        How the image is named in tables and messages (the file name).
    path : str or None
        The file the image was read from.
    polarity_detected : bool
        True when ``polarity`` was detected from the pixels, False when given.
    """

    array: np.ndarray = field(repr=False)
    bit_depth: int
    polarity: Polarity
    saturation: float
    white: float
    pixel_size: tuple[float, float] | None = None
    pixel_unit: str | None = None
    name: str = "image"
    path: str | None = None
    polarity_detected: bool = False

    def __post_init__(self) -> None:
        a = np.asarray(self.array)
        if a.ndim != 2:
            raise ValueError(f"a blot image is 2-D; got shape {a.shape}")
        if a.flags.writeable:
            a = a.copy()
            a.flags.writeable = False
        object.__setattr__(self, "array", a)
        if self.polarity not in POLARITIES:
            raise ValueError(f"polarity must be one of {POLARITIES}; got {self.polarity!r}")

    # ------------------------------------------------------------ construction
    @classmethod
    def from_array(
        cls,
        array: np.ndarray,
        *,
        polarity: str | None = None,
        bit_depth: int | None = None,
        saturation: float | None = None,
        pixel_size: tuple[float, float] | None = None,
        pixel_unit: str | None = None,
        name: str = "image",
        path: str | None = None,
    ) -> BlotImage:
        """Wrap a 2-D array (copied, made read-only), detecting what is not given.

        Parameters
        ----------
        array : numpy.ndarray
            2-D greyscale pixels.
        polarity : {'dark', 'light'}, optional
            Background tone; detected by :func:`detect_polarity` when omitted.
        bit_depth : int, optional
            Default: 8 for ``uint8``, 16 for other integers, 32 for floats.
        saturation : float, optional
            Raw value of a saturated pixel; default: detector maximum (``'dark'``) or 0
            (``'light'``).
        pixel_size, pixel_unit, name, path
            See the class attributes.

        Returns
        -------
        BlotImage
        """
        a = np.array(array, copy=True)
        if a.ndim != 2:
            raise ValueError(f"a blot image is 2-D; got shape {a.shape}")
        if a.dtype.kind == "b":
            a = a.astype(np.uint8)
        if bit_depth is None:
            bit_depth = 8 if a.dtype == np.uint8 else (16 if a.dtype.kind in "ui" else 32)
        top = float(2**bit_depth - 1) if bit_depth <= 16 else float(np.nanmax(a)) if a.size else 1.0
        detected = polarity is None
        pol = detect_polarity(a) if polarity is None else polarity
        if saturation is None:
            saturation = top if pol == "dark" else 0.0
        a.flags.writeable = False
        return cls(
            array=a,
            bit_depth=int(bit_depth),
            polarity=pol,  # type: ignore[arg-type]
            saturation=float(saturation),
            white=top,
            pixel_size=pixel_size,
            pixel_unit=pixel_unit,
            name=name,
            path=path,
            polarity_detected=detected,
        )

    def with_polarity(self, polarity: str) -> BlotImage:
        """The same pixels with the polarity overridden (saturation value follows it)."""
        if polarity == self.polarity:
            return replace(self, polarity_detected=False)
        sat = self.white if polarity == "dark" else 0.0
        return replace(self, polarity=polarity, saturation=sat, polarity_detected=False)

    # ------------------------------------------------------------ views
    @property
    def shape(self) -> tuple[int, int]:
        """``(height, width)`` in pixels."""
        return self.array.shape  # type: ignore[return-value]

    @property
    def height(self) -> int:
        """Number of pixel rows."""
        return int(self.array.shape[0])

    @property
    def width(self) -> int:
        """Number of pixel columns."""
        return int(self.array.shape[1])

    def signal(self, dtype: type = np.float64) -> np.ndarray:
        """Pixels as float signal, bands positive (``white − pixel`` on light images).

        Parameters
        ----------
        dtype : numpy float type
            ``numpy.float64`` (default) or ``numpy.float32`` (half the memory).

        Returns
        -------
        numpy.ndarray
            A new writable array.
        """
        a = self.array.astype(dtype)
        if self.polarity == "light":
            np.subtract(self.white, a, out=a)
        return a

    def saturated_mask(self) -> np.ndarray:
        """Boolean mask of the saturated pixels (at or beyond :attr:`saturation`)."""
        if self.polarity == "light":
            return self.array <= self.saturation
        return self.array >= self.saturation


def validate_blot_image(result: object, where: str | None = None) -> None:
    """Check that a ``blot_image`` reader returned a :class:`BlotImage` (kind validator).

    Raises
    ------
    SchemaError
        If it did not, or the image is not 2-D.
    """
    from assaykit.errors import SchemaError

    if not isinstance(result, BlotImage):
        raise SchemaError("a blot_image reader must return a BlotImage", file=where, found=type(result).__name__)
    if result.array.ndim != 2:
        raise SchemaError("a blot image is 2-D", file=where, found=f"shape {result.array.shape}")
