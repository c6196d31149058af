"""mcuforge: TinyNAS + TinyEngine for microcontrollers (an MCUNet implementation).

Python API: `mcuforge.train(arch, data, out, ...)`, `mcuforge.validate(model, data,
...)` (see mcuforge/api.py) and `mcuforge.search(data, out, ...)` (nas/search.py); each
imports its dependencies on first use.
"""

__version__ = "0.1.0"


def __getattr__(name: str):
    if name in ("train", "validate"):
        import importlib

        return importlib.import_module(f"mcuforge.{name}")
    if name == "search":
        from mcuforge.nas.search_main import search

        return search
    raise AttributeError(f"module 'mcuforge' has no attribute {name!r}")
