"""Readers of blot and gel data.

* kind ``blot_image`` (:mod:`assaykit.io.blot.image`): 8/16-bit greyscale TIFF (any
  compression: LZW, deflate, packbits...), 32-bit float TIFF, PNG; RGB converted to grey
  with a warning → :class:`assaykit.images.BlotImage`.
* kind ``blot_bands`` (``assaykit.io.blot.tables``): band tables exported by ImageJ,
  Image Lab and Image Studio.

Both kinds are declared in :mod:`assaykit.io` (one ``register_kind`` line each); importing
this package registers their readers.
"""

from assaykit.io.blot import image, tables  # noqa: F401  (register the readers of both kinds)
