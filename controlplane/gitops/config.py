"""``weir.yaml``: what a desired-state repository says about itself.

::

    name: analytics            # the source; what it writes is managed by gitops:analytics
    namespaces:                # the namespaces it owns (each with those below it)
      - company.analytics
    protected: [system]        # never pruned (system is always protected)
    prune: false               # delete what this source manages and no longer declares
    environments:              # namespace overrides per environment (--env staging)
      staging:
        namespaces:
          company.analytics: staging.company.analytics

Every key is optional. Without ``namespaces``, the source owns the namespaces it declares.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from controlplane.gitops.errors import Stalled
from controlplane.spec.names import NAMESPACE_PATTERN
from controlplane.spec.problems import Location
from controlplane.spec.source import SourceDocument, SourceError, load_source

CONFIG_FILE = "weir.yaml"
ALWAYS_PROTECTED = "system"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")
_NAMESPACE = re.compile(NAMESPACE_PATTERN)
_KEYS = {"name", "namespaces", "protected", "prune", "environments"}


@dataclass(frozen=True)
class Config:
    name: str
    owned: tuple[str, ...] = ()
    """Namespace prefixes the source owns; empty: the namespaces it declares."""
    protected: tuple[str, ...] = (ALWAYS_PROTECTED,)
    prune: bool = False
    environments: dict[str, dict[str, str]] = field(default_factory=dict)
    file: str = CONFIG_FILE

    @property
    def manager(self) -> str:
        return f"gitops:{self.name}"

    def overrides(self, environment: str | None) -> dict[str, str]:
        """The namespace mapping of ``environment`` (none for no environment)."""
        if environment is None:
            return {}
        if environment not in self.environments:
            known = ", ".join(sorted(self.environments)) or "none"
            raise Stalled(
                f"{self.file}: environment {environment!r} is not declared under environments "
                f"(declared: {known})",
                "UnknownEnvironment",
            )
        return self.environments[environment]


def under(namespace: str, prefix: str) -> bool:
    """Whether ``namespace`` is ``prefix`` or below it."""
    return namespace == prefix or namespace.startswith(prefix + ".")


def map_namespace(namespace: str, overrides: dict[str, str]) -> str:
    """``namespace`` moved by the longest override prefix that covers it."""
    best = max((p for p in overrides if under(namespace, p)), key=len, default=None)
    if best is None:
        return namespace
    return overrides[best] + namespace[len(best) :]


def load_config(root: Path, default_name: str) -> Config:
    path = root / CONFIG_FILE
    if not path.is_file():
        return Config(name=_default_name(default_name))
    try:
        doc = load_source(path.read_bytes(), CONFIG_FILE)
    except SourceError as error:
        raise Stalled(str(error.problem), "InvalidConfig") from None
    except OSError as error:
        raise Stalled(f"{CONFIG_FILE}: cannot read: {error.strerror}", "InvalidConfig") from None
    return _parse(doc, default_name)


def _parse(doc: SourceDocument, default_name: str) -> Config:
    data: dict[str, Any] = doc.data

    def fail(path: tuple[str | int, ...], message: str) -> Stalled:
        where: Location = doc.locate(path)
        return Stalled(f"{where}: {message}", "InvalidConfig")

    for key in data:
        if key not in _KEYS:
            raise fail((key,), f"unknown key {key!r}; expected one of {', '.join(sorted(_KEYS))}")
    name = data.get("name", _default_name(default_name))
    if not isinstance(name, str) or not _NAME.match(name):
        raise fail(("name",), "name must be lowercase letters, digits, '.', '_' or '-'")
    owned = _namespaces(data.get("namespaces", []), ("namespaces",), fail)
    protected = _namespaces(data.get("protected", []), ("protected",), fail)
    prune = data.get("prune", False)
    if not isinstance(prune, bool):
        raise fail(("prune",), "prune must be true or false")
    environments: dict[str, dict[str, str]] = {}
    raw_envs = data.get("environments", {})
    if not isinstance(raw_envs, dict):
        raise fail(("environments",), "environments must map a name to its settings")
    for env, settings in raw_envs.items():
        at: tuple[str | int, ...] = ("environments", env)
        if not isinstance(settings, dict) or set(settings) - {"namespaces"}:
            raise fail(at, "an environment has one key, namespaces: a map of overrides")
        mapping = settings.get("namespaces") or {}
        if not isinstance(mapping, dict):
            raise fail((*at, "namespaces"), "namespaces must map a namespace to another")
        for source, target in mapping.items():
            for value in (source, target):
                if not isinstance(value, str) or not _NAMESPACE.match(value):
                    raise fail((*at, "namespaces", source), f"{value!r} is not a namespace")
        environments[str(env)] = dict(mapping)
    if ALWAYS_PROTECTED not in protected:
        protected = (ALWAYS_PROTECTED, *protected)
    return Config(name, owned, protected, prune, environments)


def _namespaces(value: Any, path: tuple[str, ...], fail: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise fail(path, "must be a list of namespaces")
    for index, item in enumerate(value):
        if not isinstance(item, str) or not _NAMESPACE.match(item):
            raise fail((*path, index), f"{item!r} is not a namespace such as company.team")
    return tuple(value)


def _default_name(text: str) -> str:
    cleaned = re.sub(r"[^a-z0-9_.-]+", "-", text.lower()).strip("-.") or "default"
    return cleaned[:63]
