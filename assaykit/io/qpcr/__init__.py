"""qPCR run export readers (each module registers itself)."""

from importlib import import_module

_MODULES = (
    "quantstudio",
    "sds",
    "cfx",
    "lightcycler",
    "rotorgene",
    "rdml",
)

for _name in _MODULES:
    try:
        import_module(f"{__name__}.{_name}")
    except ModuleNotFoundError as _exc:  # pragma: no cover - only while a module is being written
        if _exc.name != f"{__name__}.{_name}":
            raise
