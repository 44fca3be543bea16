"""Implementations of Kestra's runnable tasks, one module (or package) per plugin family.

Importing this package makes them available without importing them: the engine asks for a
model's implementation when it first runs a task of that type, and the module that holds it (read
from :mod:`controlplane.tasks.index`) is imported then. A model the index does not name imports
every module of this package, so an implementation added without regenerating the index is still
found. :func:`load_all` imports them all.
"""

from __future__ import annotations

import importlib
import pkgutil
import threading

from pydantic import BaseModel

from controlplane.engine.runnable import has_runner, install_loader
from controlplane.tasks.index import IMPLEMENTATIONS

_NOT_IMPLEMENTATIONS = {"index"}
_MODELS = "controlplane.spec.plugins."
_lock = threading.RLock()
_loaded_all = False


def modules() -> list[str]:
    """Every module of this package that may hold implementations."""
    found = pkgutil.iter_modules(__path__)
    return sorted(info.name for info in found if info.name not in _NOT_IMPLEMENTATIONS)


def load_all() -> None:
    global _loaded_all
    with _lock:
        if _loaded_all:
            return
        for module in modules():
            importlib.import_module(f"{__name__}.{module}")
        _loaded_all = True


def key(model: type[BaseModel]) -> str:
    """``<module>.<class>`` of a property model, its module under ``controlplane.spec.plugins``."""
    return f"{model.__module__.removeprefix(_MODELS)}.{model.__qualname__}"


def _load_for(model: type[BaseModel] | None) -> None:
    module = IMPLEMENTATIONS.get(key(model)) if model is not None else None
    if module is not None:
        importlib.import_module(f"{__name__}.{module}")
        if model is not None and has_runner(model):
            return
    load_all()


install_loader(_load_for)
