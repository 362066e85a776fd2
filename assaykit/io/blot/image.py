"""Blot and gel images (kind ``blot_image``): TIFF and PNG → :class:`~assaykit.images.BlotImage`.

Library choice (docs/architecture.md, "Images"):

* **tifffile** reads TIFF (8/16-bit, float, ImageJ hyperstacks, resolution tags) in a few
  milliseconds without decoding through another image model. It needs the optional
  ``imagecodecs`` package for LZW and some other compressions.
* **Pillow** (already installed with matplotlib) decodes LZW/deflate/packbits TIFF natively
  and reads PNG; it is the fallback when tifffile cannot decode a file's compression, so
  LZW exports work without the 80 MB ``imagecodecs`` (``pip install assaykit[images]``
  adds it for speed).

The reader never guesses from the file name: TIFF and PNG are recognised by their magic
bytes. A file that cannot be decoded (truncated, corrupt) raises :class:`ReaderError`
naming the file.
"""

from __future__ import annotations

import io
import os
import warnings
from typing import Any

import numpy as np

from assaykit.errors import AssaykitWarning, ReaderError
from assaykit.images import BlotImage
from assaykit.io._registry import register
from assaykit.io._source import Source

__all__ = ["read_png", "read_tiff", "to_grey"]

_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# ITU-R BT.601 luma weights (the ones Pillow's 'L' conversion uses)
_LUMA = np.array([0.299, 0.587, 0.114])

_UM_PER_UNIT = {2: 25_400.0, 3: 10_000.0}  # TIFF ResolutionUnit: 2 = inch, 3 = centimetre
_IJ_UNITS = {"micron": "um", "\\u00B5m": "um", "µm": "um", "um": "um", "nm": "nm", "mm": "mm", "cm": "cm"}


def _is_tiff(source: Source) -> bool:
    return source.data[:4] in _TIFF_MAGIC


def _is_png(source: Source) -> bool:
    return source.data[:8] == _PNG_MAGIC


def to_grey(array: np.ndarray, *, name: str) -> np.ndarray:
    """Colour pixels (``H × W × 3/4``) → grey, with an :class:`AssaykitWarning`.

    Identical channels are taken as they are (a grey image saved as RGB); otherwise the
    BT.601 luma ``0.299 R + 0.587 G + 0.114 B`` is returned as float32. An alpha channel is
    dropped.

    Parameters
    ----------
    array : numpy.ndarray
        ``H × W × C`` pixels, ``C`` in 2 (grey + alpha), 3 or 4.
    name : str
        The file, named in the warning.

    Returns
    -------
    numpy.ndarray
        2-D pixels.
    """
    c = array.shape[2]
    if c == 2:  # grey + alpha
        warnings.warn(f"{name}: grey image with an alpha channel; alpha dropped", AssaykitWarning, stacklevel=3)
        return np.ascontiguousarray(array[:, :, 0])
    rgb = array[:, :, :3]
    if np.array_equal(rgb[:, :, 0], rgb[:, :, 1]) and np.array_equal(rgb[:, :, 0], rgb[:, :, 2]):
        warnings.warn(
            f"{name}: RGB image with identical channels; taken as greyscale", AssaykitWarning, stacklevel=3
        )
        return np.ascontiguousarray(rgb[:, :, 0])
    warnings.warn(
        f"{name}: colour (RGB) image converted to grey (0.299 R + 0.587 G + 0.114 B); "
        "quantify the instrument's raw greyscale export where possible",
        AssaykitWarning,
        stacklevel=3,
    )
    return (rgb.astype(np.float32) @ _LUMA.astype(np.float32)).astype(np.float32)


def _bit_depth(raw_dtype: np.dtype, stored_bits: int | None) -> int:
    if raw_dtype.kind == "f":
        return 32
    if raw_dtype == np.uint8 or stored_bits == 8:
        return 8
    return 16


def _as_supported(array: np.ndarray, *, name: str) -> np.ndarray:
    """Integer types other than uint8/uint16 into uint16 (or float32), checking the range."""
    if array.dtype in (np.uint8, np.uint16) or array.dtype.kind == "f":
        return array
    if array.dtype == bool:
        return array.astype(np.uint8) * 255
    if array.dtype.kind in "ui":
        lo, hi = (int(array.min()), int(array.max())) if array.size else (0, 0)
        if 0 <= lo and hi <= 65535:
            return array.astype(np.uint16)
        return array.astype(np.float32)
    raise ReaderError("unsupported pixel type", file=name, expected="8/16-bit or float greyscale", found=str(array.dtype))


def _finish(array: np.ndarray, *, name: str, stored_bits: int | None, pixel: tuple | None) -> BlotImage:
    a = np.asarray(array)
    if a.ndim == 3 and a.shape[0] in (3, 4) and a.shape[2] not in (2, 3, 4):
        a = np.moveaxis(a, 0, -1)  # planar RGB
    raw_dtype = a.dtype
    if a.ndim == 3 and a.shape[2] in (2, 3, 4):
        a = to_grey(a, name=name)
    if a.ndim != 2:
        raise ReaderError(
            "not a single greyscale image", file=name, expected="a 2-D image (or RGB)", found=f"pixel array of shape {a.shape}"
        )
    if a.size == 0:
        raise ReaderError("image has no pixels", file=name, found=f"shape {a.shape}")
    a = _as_supported(a, name=name)
    depth = _bit_depth(np.dtype(raw_dtype) if raw_dtype.kind != "b" else np.dtype(np.uint8), stored_bits)
    size, unit = pixel if pixel else (None, None)
    return BlotImage.from_array(
        a, bit_depth=depth, pixel_size=size, pixel_unit=unit, name=os.path.basename(name) or name, path=name
    )


# ------------------------------------------------------------------------------ TIFF
def _tiff_pixel_size(page: Any, ij: dict | None) -> tuple | None:
    """``((x, y), unit)`` from the resolution tags (ImageJ's unit when it gives one)."""
    tags = page.tags
    if "XResolution" not in tags or "YResolution" not in tags:
        return None

    def per_unit(tag: str) -> float:
        v = tags[tag].value
        num, den = (v if isinstance(v, tuple) else (v, 1))
        return float(num) / float(den) if den else 0.0

    rx, ry = per_unit("XResolution"), per_unit("YResolution")
    if rx <= 0 or ry <= 0:
        return None
    res_unit = int(tags["ResolutionUnit"].value) if "ResolutionUnit" in tags else 2
    ij_unit = _IJ_UNITS.get(str((ij or {}).get("unit", "")).strip())
    if ij_unit is not None:
        return (1.0 / rx, 1.0 / ry), ij_unit
    if res_unit in _UM_PER_UNIT:
        f = _UM_PER_UNIT[res_unit]
        return (f / rx, f / ry), "um"
    return None


def _tiff_with_tifffile(source: Source) -> BlotImage:
    import tifffile

    with tifffile.TiffFile(io.BytesIO(source.data)) as tif:
        series = tif.series[0]
        page = series.pages[0] if series.pages else tif.pages[0]
        if len(tif.pages) > 1 and len(series.shape) > 2 and series.shape[-1] not in (3, 4):
            warnings.warn(
                f"{source.name}: {len(tif.pages)} images in the file; the first is used", AssaykitWarning, stacklevel=4
            )
        array = page.asarray()
        bits = int(page.bitspersample) if page.bitspersample else None
        pixel = _tiff_pixel_size(page, tif.imagej_metadata)
    return _finish(array, name=source.name, stored_bits=bits, pixel=pixel)


def _with_pillow(source: Source) -> BlotImage:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(source.data)) as img:
            n_frames = getattr(img, "n_frames", 1)
            if n_frames > 1:
                warnings.warn(
                    f"{source.name}: {n_frames} images in the file; the first is used", AssaykitWarning, stacklevel=4
                )
            mode = img.mode
            if mode == "P":
                img = img.convert("RGBA" if "transparency" in img.info else "RGB")
            elif mode == "1":
                img = img.convert("L")
            array = np.array(img)
            pixel = _pillow_pixel_size(img)
            bits = 8 if mode in ("L", "LA", "RGB", "RGBA", "P", "1") else None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise ReaderError(
            "cannot decode image (truncated or corrupt file?)", file=source.name, found=str(exc)[:160]
        ) from None
    return _finish(array, name=source.name, stored_bits=bits, pixel=pixel)


def _pillow_pixel_size(img: Any) -> tuple | None:
    dpi = img.info.get("dpi")
    if dpi and all(d and d > 0 for d in dpi[:2]) and img.format == "PNG":
        return (25_400.0 / float(dpi[0]), 25_400.0 / float(dpi[1])), "um"
    res = img.info.get("resolution")
    if res and img.format == "TIFF":
        unit = img.tag_v2.get(296, 2)
        if unit in _UM_PER_UNIT and all(r and r > 0 for r in res[:2]):
            f = _UM_PER_UNIT[unit]
            return (f / float(res[0]), f / float(res[1])), "um"
    return None


@register(
    "tiff",
    kind="blot_image",
    sniff=_is_tiff,
    description="TIFF image: 8/16-bit greyscale (LZW, deflate, packbits...), float, RGB (converted to grey)",
)
def read_tiff(source: Source) -> BlotImage:
    """Read a TIFF blot image (tifffile; Pillow when the compression needs imagecodecs)."""
    try:
        return _tiff_with_tifffile(source)
    except ReaderError:
        raise
    except Exception as exc:  # tifffile: missing codec, truncated strips, bad IFD ...
        first = exc
    try:
        return _with_pillow(source)
    except ReaderError as exc:
        raise ReaderError(
            "cannot decode TIFF image (truncated or corrupt file?)",
            file=source.name,
            found=f"{type(first).__name__}: {str(first)[:120]}; Pillow: {exc.found}",
        ) from None


@register("png", kind="blot_image", sniff=_is_png, description="PNG image: 8/16-bit greyscale, RGB (converted to grey)")
def read_png(source: Source) -> BlotImage:
    """Read a PNG blot image (Pillow)."""
    return _with_pillow(source)
