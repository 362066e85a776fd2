"""Plate-reader and bead-assay export readers (each module registers itself)."""

from importlib import import_module

# One module per instrument family; the generic grid reader is tried last.
_MODULES = (
    "gen5",
    "softmax",
    "tecan",
    "bmg",
    "envision",
    "luminex",
    "msd",
    "generic",
)

for _name in _MODULES:
    try:
        import_module(f"{__name__}.{_name}")
    except ModuleNotFoundError as _exc:  # pragma: no cover - only while a module is being written
        if _exc.name != f"{__name__}.{_name}":
            raise
