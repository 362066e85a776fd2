"""Readers of blot and gel data.

* kind ``blot_image`` (:mod:`assaykit.io.blot.image`): 8/16-bit greyscale TIFF (any
  compression: LZW, deflate, packbits...), 32-bit float TIFF, PNG; RGB converted to grey
  with a warning → :class:`assaykit.images.BlotImage`.
* kind ``blot_bands``: band tables exported by ImageJ, Image Lab and Image Studio
  (``assaykit.io.blot.tables``, when present).
"""

from importlib import import_module

from assaykit.io.blot import image  # noqa: F401  (registers the image readers)

try:  # the band-table importers register themselves when their module is present
    import_module("assaykit.io.blot.tables")
except ModuleNotFoundError as exc:  # pragma: no cover - only while the module is missing
    if exc.name != "assaykit.io.blot.tables":
        raise
