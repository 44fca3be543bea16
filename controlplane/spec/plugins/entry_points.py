"""Types from other Python packages: every entry point of the group ``weir.plugins``.

Importing this module imports each installed plugin (the module an entry point names; a
callable it names is then called), which registers the plugin's types with the registry and
their implementations with the engine (see docs/plugins.md). A plugin that fails to load is
skipped and remembered in :data:`FAILED` with the reason, so one broken package never stops
validation of the flows that do not use it.
"""

from __future__ import annotations

import logging
from importlib.metadata import EntryPoint, entry_points
from types import ModuleType

GROUP = "weir.plugins"

LOADED: dict[str, str] = {}
"""Entry point name -> what it names, for each plugin loaded."""
FAILED: dict[str, str] = {}
"""Entry point name -> why it did not load."""

_log = logging.getLogger(__name__)


def load(point: EntryPoint) -> None:
    try:
        loaded = point.load()
        if callable(loaded) and not isinstance(loaded, ModuleType):
            loaded()
    except Exception as exc:  # a broken plugin must not break Weir: say which and why
        FAILED[point.name] = f"{type(exc).__name__}: {exc}"
        _log.warning("the Weir plugin %r (%s) did not load: %s", point.name, point.value, exc)
        return
    LOADED[point.name] = point.value


for _point in sorted(entry_points(group=GROUP), key=lambda p: p.name):
    load(_point)
