"""The type registry: every task, trigger, condition and task-runner type Weir implements.

Each type is registered once, under its current Kestra name, with the pydantic model of its
properties and the aliases Kestra still accepts. Old names resolve in two ways: aliases declared
with the type, and the package moves of Kestra 0.17/0.20 (``io.kestra.core.tasks.flows.If`` ->
``io.kestra.plugin.core.flow.If``, ``...condition.ExecutionStatusCondition`` ->
``...condition.ExecutionStatus``) that apply to every type.

Building the models of every type takes most of a second, so nothing is imported up front: the
registry knows from :mod:`controlplane.spec.typeindex` which module of
``controlplane.spec.plugins`` registers a name, and imports that module on the first lookup. The
index is trusted: a name it does not know imports none of Weir's plugin modules (only the
installed plugins, once), and the names suggested for it are taken from the index too. A unit
test keeps the index equal to the registered types.
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import ModuleType
from typing import TypeVar

from pydantic import BaseModel

from controlplane.spec.typealiases import ALIASES
from controlplane.spec.typeindex import MODULES


class Kind(StrEnum):
    TASK = "task"
    TRIGGER = "trigger"
    CONDITION = "condition"
    RUNNER = "taskRunner"


@dataclass(frozen=True)
class TypeInfo:
    kind: Kind
    name: str
    model: type[BaseModel]
    aliases: tuple[str, ...]

    @property
    def short_name(self) -> str:
        return self.name.rsplit(".", 1)[-1]


_PACKAGE_MOVES = {
    "debugs": "debug",
    "executions": "execution",
    "flows": "flow",
    "storages": "storage",
    "states": "state",
    "log": "log",
    "templating": "templating",
    "trigger": "trigger",
    "kv": "kv",
    "outputs": "output",
    "namespace": "namespace",
}

_RENAMED = {
    "io.kestra.core.tasks.flows.Flow": "io.kestra.plugin.core.flow.Subflow",
    "io.kestra.core.tasks.flows.Worker": "io.kestra.plugin.core.flow.WorkingDirectory",
    "io.kestra.core.tasks.executions.Counts": "io.kestra.plugin.core.execution.Count",
    "io.kestra.core.tasks.storages.PurgeExecution": (
        "io.kestra.plugin.core.storage.PurgeCurrentExecutionFiles"
    ),
    "io.kestra.core.tasks.storages.Purge": "io.kestra.plugin.core.execution.PurgeExecutions",
    "io.kestra.core.models.conditions.types.VariableCondition": (
        "io.kestra.plugin.core.condition.Expression"
    ),
    "io.kestra.core.models.tasks.runners.types.ProcessTaskRunner": (
        "io.kestra.plugin.core.runner.Process"
    ),
    "io.kestra.plugin.scripts.runner.docker.DockerTaskRunner": (
        "io.kestra.plugin.scripts.runner.docker.Docker"
    ),
}

_CORE_TASK = re.compile(r"^io\.kestra\.core\.tasks\.([a-z]+)\.(\w+)$")
_OLD_TRIGGER = re.compile(r"^io\.kestra\.core\.models\.triggers\.types\.(\w+)$")
_OLD_CONDITION = re.compile(
    r"^io\.kestra\.(?:core\.models\.conditions\.types|plugin\.core\.condition)\.(\w+)Condition$"
)
_FS_HTTP = re.compile(r"^io\.kestra\.plugin\.fs\.http\.(Request|Download|Trigger)$")


def modernise(name: str) -> str:
    """The current name of a type known by an old Kestra name; unchanged when not an old name."""
    if name in _RENAMED:
        return _RENAMED[name]
    if match := _CORE_TASK.match(name):
        package = _PACKAGE_MOVES.get(match.group(1), match.group(1))
        return f"io.kestra.plugin.core.{package}.{match.group(2)}"
    if match := _OLD_TRIGGER.match(name):
        return f"io.kestra.plugin.core.trigger.{match.group(1)}"
    if match := _OLD_CONDITION.match(name):
        return f"io.kestra.plugin.core.condition.{match.group(1)}"
    if match := _FS_HTTP.match(name):
        return f"io.kestra.plugin.core.http.{match.group(1)}"
    return name


M = TypeVar("M", bound=type[BaseModel])

_ENTRY_POINTS = "entry_points"
"""The module of the plugin package that loads the types of installed plugins, not Weir's own."""


class TypeRegistry:
    """Types by kind; lookups accept current names, declared aliases and Kestra's old names."""

    def __init__(
        self,
        package: str | None = None,
        index: Mapping[str, Mapping[str, str]] | None = None,
        aliases: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        """``index``: kind -> name or alias -> the module of ``package`` that registers it;
        ``aliases``: kind -> the aliases among the index's names. Without an index, a name not
        registered yet imports every module of ``package``."""
        self._types: dict[Kind, dict[str, TypeInfo]] = {kind: {} for kind in Kind}
        self._aliases: dict[Kind, dict[str, str]] = {kind: {} for kind in Kind}
        self._closest: dict[tuple[Kind, str], list[str]] = {}
        self._shorts: dict[Kind, dict[str, list[str]]] = {}
        self._near: dict[tuple[Kind, str, int], list[str]] = {}
        self._package = package
        self._index = index
        self._index_aliases = {kind: set(names) for kind, names in (aliases or {}).items()}
        self._complete = package is None
        self._plugins_loaded = False

    def register(self, kind: Kind, name: str, aliases: Iterable[str] = ()) -> Callable[[M], M]:
        """Class decorator registering a property model under ``name``."""

        def decorate(model: M) -> M:
            table = self._types[kind]
            if name in table:
                raise ValueError(f"{kind.value} type {name} is registered twice")
            info = TypeInfo(kind, name, model, tuple(aliases))
            table[name] = info
            self._closest.clear()
            self._shorts.pop(kind, None)
            self._near.clear()
            for alias in info.aliases:
                self._aliases[kind][alias] = name
            return model

        return decorate

    def resolve(self, kind: Kind, name: str) -> TypeInfo | None:
        found = self._lookup(kind, name)
        if found is not None or self._package is None:
            return found
        module = self._module_of(kind, name)
        if module is not None and not self._complete:
            importlib.import_module(f"{self._package}.{module}")
            found = self._lookup(kind, name)
        if found is None and self._index is None:
            self.load_all()
            found = self._lookup(kind, name)
        if found is None and not self._plugins_loaded:
            # A name Weir does not know may come from an installed plugin: load them, once.
            self._plugins_loaded = True
            importlib.import_module(f"{self._package}.{_ENTRY_POINTS}")
            found = self._lookup(kind, name)
        return found

    def _lookup(self, kind: Kind, name: str) -> TypeInfo | None:
        table = self._types[kind]
        if name in table:
            return table[name]
        canonical = self._aliases[kind].get(name) or modernise(name)
        canonical = self._aliases[kind].get(canonical, canonical)
        return table.get(canonical)

    def _module_of(self, kind: Kind, name: str) -> str | None:
        known = (self._index or {}).get(kind.value, {})
        return known.get(name) or known.get(modernise(name))

    def load_all(self) -> None:
        """Import every module of Weir's own types (installed plugins are loaded on a miss)."""
        if self._complete or self._package is None:
            return
        package = importlib.import_module(self._package)
        for module in sorted(info.name for info in pkgutil.iter_modules(package.__path__)):
            if module != _ENTRY_POINTS:
                importlib.import_module(f"{self._package}.{module}")
        self._complete = True
        self._closest.clear()
        self._shorts.clear()
        self._near.clear()

    def closest(self, kind: Kind, name: str, limit: int = 3) -> list[str]:
        """Known names nearest to ``name`` (cached): those whose class name is close,
        ranked by their last segments (``hightouch.Synk`` -> ``hightouch.Sync`` before
        ``git.Sync``), then by the whole name. Known names are those registered and those the
        index names (not its aliases), so no plugin module is imported for a suggestion."""
        if self._index is None:
            self.load_all()
        key = (kind, name)
        if key not in self._closest:
            shorts = self._short_names(kind)
            short = name.rsplit(".", 1)[-1].lower()
            # Unknown names often share a class name (jdbc.mysql.Query, jdbc.duckdb.Query...):
            # the close class names are looked up once per class name.
            near = self._near.get((kind, short, limit))
            if near is None:
                near = difflib.get_close_matches(short, shorts, limit, 0.7)
                self._near[kind, short, limit] = near
            found = [full for match in near for full in shorts[match]]
            found.sort(key=lambda full: _nearness(name, full), reverse=True)
            self._closest[key] = found[:limit]
        return self._closest[key]

    def _short_names(self, kind: Kind) -> dict[str, list[str]]:
        """Known names by their lower-cased class name (cached until a type registers)."""
        shorts = self._shorts.get(kind)
        if shorts is None:
            known = set(self._types[kind])
            aliases = self._index_aliases.get(kind.value, set())
            known.update(n for n in (self._index or {}).get(kind.value, {}) if n not in aliases)
            shorts = {}
            for registered in sorted(known):
                shorts.setdefault(registered.rsplit(".", 1)[-1].lower(), []).append(registered)
            self._shorts[kind] = shorts
        return shorts

    def types(self, kind: Kind) -> list[TypeInfo]:
        self.load_all()
        return sorted(self._types[kind].values(), key=lambda info: info.name)

    def names(self, kind: Kind) -> set[str]:
        self.load_all()
        return set(self._types[kind])


def _nearness(name: str, candidate: str) -> tuple[float, float, float]:
    """How alike two type names are: their last two segments, their class names, then the
    whole names, each as a ratio from 0 to 1."""

    def ratio(a: str, b: str) -> float:
        return difflib.SequenceMatcher(None, a.lower(), b.lower()).ratio()

    def tail(text: str, count: int) -> str:
        return ".".join(text.split(".")[-count:])

    return (
        ratio(tail(name, 2), tail(candidate, 2)),
        ratio(tail(name, 1), tail(candidate, 1)),
        ratio(name, candidate),
    )


registry = TypeRegistry("controlplane.spec.plugins", MODULES, ALIASES)
"""The registry of the types Weir implements; each filled in as ``controlplane.spec.plugins``
modules are imported (on first lookup)."""


def imported(module: str) -> ModuleType | None:
    """The module ``module`` of ``controlplane.spec.plugins`` when it is imported, else None.

    A flow holds an object of a type only once the module of the type is imported, so a check
    looking for one type (``isinstance(task, flow.Dag)``) has nothing to look at while its module
    is not, and need not import it.
    """
    return sys.modules.get(f"{registry._package}.{module}")


def task(name: str, *aliases: str) -> Callable[[M], M]:
    return registry.register(Kind.TASK, name, aliases)


def trigger(name: str, *aliases: str) -> Callable[[M], M]:
    return registry.register(Kind.TRIGGER, name, aliases)


def condition(name: str, *aliases: str) -> Callable[[M], M]:
    return registry.register(Kind.CONDITION, name, aliases)


def runner(name: str, *aliases: str) -> Callable[[M], M]:
    return registry.register(Kind.RUNNER, name, aliases)


def legacy_names(kind: Kind, name: str) -> list[str]:
    """Older names Kestra accepted for ``name`` that :func:`modernise` maps back to it."""
    short = name.rsplit(".", 1)[-1]
    candidates = [old for old, new in _RENAMED.items() if new == name]
    if kind is Kind.TASK and name.startswith("io.kestra.plugin.core."):
        package = name.split(".")[-2]
        for old_package, new_package in _PACKAGE_MOVES.items():
            if new_package == package:
                candidates.append(f"io.kestra.core.tasks.{old_package}.{short}")
    if name.startswith("io.kestra.plugin.core.http."):  # the tasks and http.Trigger
        candidates.append(f"io.kestra.plugin.fs.http.{short}")
    if kind is Kind.TRIGGER and name.startswith("io.kestra.plugin.core.trigger."):
        candidates.append(f"io.kestra.core.models.triggers.types.{short}")
    if kind is Kind.CONDITION and name.startswith("io.kestra.plugin.core.condition."):
        candidates.append(f"io.kestra.core.models.conditions.types.{short}Condition")
        candidates.append(f"io.kestra.plugin.core.condition.{short}Condition")
    return [old for old in candidates if modernise(old) == name and old != name]
