"""Flow cytometry readers (kind ``"flow"``): each module registers itself."""

from assaykit.io.flow import fcs  # noqa: F401
