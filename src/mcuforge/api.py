"""The Python API for notebooks: `mcuforge.train(...)` and `mcuforge.validate(...)`.

`train` and `validate` are also the packages that implement them, so each package
module is made callable (its class is swapped for a ModuleType subclass with
__call__, a documented way to customise a module): `mcuforge.train(arch, data, out,
...)` runs train.run.train and `mcuforge.validate(model, data, ...)` runs
validate.validate, while `import mcuforge.train.loop` keeps working. Nothing heavy is
imported until a call.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any


def make_callable(module_name: str, target: str) -> None:
    """Make the module `module_name` call `target` ("package.module:function")."""
    where, func = target.split(":")

    class CallableModule(types.ModuleType):
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            return getattr(importlib.import_module(where), func)(*args, **kwargs)

    sys.modules[module_name].__class__ = CallableModule
