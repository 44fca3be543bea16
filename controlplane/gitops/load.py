"""Load: the desired state from the files of a source, with every problem at file:line.

::

    weir.yaml                          the source's settings (controlplane.gitops.config)
    namespaces/
      company.team/                    one directory per namespace, named as it is
        namespace.yaml                 description, variables, labels (optional)
        flows/**/*.yaml                one flow per file, of this namespace
        files/**                       namespace files, by their path below files/
        kv.yaml                        KV pairs: key: value, or key: {value, type, ttl}
        secrets/*.yaml                 sealed secrets (weir secret seal)

Flows are not parsed here: a flow whose text equals what the server holds needs no parsing,
which keeps a plan of ten thousand unchanged flows fast (controlplane.gitops.flows resolves them).
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from controlplane.gitops.config import Config, map_namespace, under
from controlplane.gitops.inventory import Desired, Inventory, Key
from controlplane.spec.kvtypes import KV_TYPES, inferred_type
from controlplane.spec.names import KV_KEY_MAX, KV_KEY_PATTERN, NAMESPACE_PATTERN
from controlplane.spec.problems import Location, Problem
from controlplane.spec.sealing import SealedSecretFile, read_sealed_file
from controlplane.spec.source import SourceDocument, SourceError, load_source

NAMESPACES_DIR = "namespaces"
_NAMESPACE = re.compile(NAMESPACE_PATTERN)
_KV_KEY = re.compile(KV_KEY_PATTERN)
_NAMESPACE_KEYS = ("description", "variables", "labels", "allowedNamespaces")
_SKIPPED = {".gitkeep", ".DS_Store"}
_NAMESPACE_LINE = re.compile(
    r"(?m)^(?P<lead>[ \t]*(?:-[ \t]+)?namespace:[ \t]*)(?P<q>[\"']?)"
    r"(?P<ns>[a-z0-9][a-z0-9_.-]*)(?P=q)(?=[ \t]*(?:#.*)?$)"
)


@dataclass
class FlowFile:
    file: str
    """Path from the source's root."""
    namespace: str
    """The namespace on the server (after the environment's overrides)."""
    text: str
    """The source as it is sent: the environment's namespaces substituted."""


@dataclass
class SecretFile:
    key: Key
    sealed: SealedSecretFile
    origin: Location


@dataclass
class Loaded:
    config: Config
    environment: str | None
    overrides: dict[str, str]
    objects: Inventory = field(default_factory=Inventory)
    """Namespaces, KV pairs and files; flows and secrets are resolved against the server."""
    flows: list[FlowFile] = field(default_factory=list)
    secrets: list[SecretFile] = field(default_factory=list)
    namespaces: set[str] = field(default_factory=set)
    problems: list[Problem] = field(default_factory=list)

    def owns(self, namespace: str) -> bool:
        owned = [map_namespace(n, self.overrides) for n in self.config.owned]
        if not owned:
            return namespace in self.namespaces
        return any(under(namespace, prefix) for prefix in owned)

    def protects(self, namespace: str) -> bool:
        return any(under(namespace, prefix) for prefix in self.config.protected)


def rewrite_namespaces(text: str, overrides: dict[str, str]) -> str:
    """``text`` with every literal ``namespace:`` value moved by ``overrides`` (the flow's own,
    and those of the subflows and flow triggers it names); formatting and comments kept."""
    if not overrides:
        return text

    def move(match: re.Match[str]) -> str:
        moved = map_namespace(match["ns"], overrides)
        return f"{match['lead']}{match['q']}{moved}{match['q']}"

    return _NAMESPACE_LINE.sub(move, text)


def load(root: Path, config: Config, environment: str | None = None) -> Loaded:
    overrides = config.overrides(environment)
    loaded = Loaded(config, environment, overrides)
    base = root / NAMESPACES_DIR
    if not base.is_dir():
        loaded.problems.append(
            _error(root, base, f"no {NAMESPACES_DIR}/ directory: the source declares nothing")
        )
        return loaded
    for directory in sorted(base.iterdir()):
        if directory.name in _SKIPPED:
            continue
        if not directory.is_dir() or not _NAMESPACE.match(directory.name):
            loaded.problems.append(
                _error(
                    root,
                    directory,
                    f"{directory.name!r} is not a namespace directory: {NAMESPACES_DIR}/ holds "
                    "one directory per namespace, named like company.team",
                )
            )
            continue
        _load_namespace(root, directory, loaded)
    for namespace in sorted(loaded.namespaces):
        if not loaded.owns(namespace):
            owned = ", ".join(config.owned)
            loaded.problems.append(
                _error(
                    root,
                    base / _source_name(namespace, overrides, base),
                    f"namespace {namespace} is not owned by source {config.name} "
                    f"(weir.yaml namespaces: {owned}); add it there or remove the directory",
                )
            )
    return loaded


def _source_name(namespace: str, overrides: dict[str, str], base: Path) -> str:
    for directory in base.iterdir():
        if map_namespace(directory.name, overrides) == namespace:
            return directory.name
    return namespace


def _load_namespace(root: Path, directory: Path, loaded: Loaded) -> None:
    namespace = map_namespace(directory.name, loaded.overrides)
    loaded.namespaces.add(namespace)
    settings = directory / "namespace.yaml"
    known = {"namespace.yaml", "flows", "files", "kv.yaml", "secrets"}
    for entry in sorted(directory.iterdir()):
        if entry.name not in known and entry.name not in _SKIPPED:
            loaded.problems.append(
                _error(
                    root,
                    entry,
                    f"unexpected {entry.name!r}: a namespace directory holds namespace.yaml, "
                    "flows/, files/, kv.yaml and secrets/",
                )
            )
    key = Key("namespace", namespace, namespace)
    if settings.is_file():
        doc = _document(root, settings, loaded.problems)
        if doc is not None:
            value = _namespace_settings(doc, loaded.problems)
            if value is not None:
                loaded.objects.add(Desired(key, value, doc.locate(())))
    else:
        # Declared by its directory alone: created when missing, its settings left as they are.
        loaded.objects.add(Desired(key, None, Location(_rel(root, directory), 1, 1, ())))
    for path in _files(directory / "flows"):
        if path.suffix not in (".yaml", ".yml"):
            loaded.problems.append(
                _error(root, path, "a file in flows/ must be a flow: *.yaml or *.yml")
            )
            continue
        text = _text(root, path, loaded.problems)
        if text is not None:
            text = rewrite_namespaces(text, loaded.overrides)
            loaded.flows.append(FlowFile(_rel(root, path), namespace, text))
    files_dir = directory / "files"
    for path in _files(files_dir):
        data = path.read_bytes()
        relative = path.relative_to(files_dir).as_posix()
        digest = hashlib.sha256(data).hexdigest()
        loaded.objects.add(
            Desired(
                Key("file", namespace, relative),
                digest,
                Location(_rel(root, path), 1, 1, ()),
                payload=data,
            )
        )
    kv_file = directory / "kv.yaml"
    if kv_file.is_file():
        _load_kv(root, kv_file, namespace, loaded)
    for path in _files(directory / "secrets"):
        text = _text(root, path, loaded.problems)
        if text is None:
            continue
        display = _rel(root, path)
        try:
            sealed = read_sealed_file(text, display)
        except Exception as error:  # the reader's errors name the file and line
            loaded.problems.append(
                Problem.error(Location(display, 1, 1, ()), str(error), "invalid_sealed")
            )
            continue
        if sealed.namespace not in (namespace, directory.name):
            loaded.problems.append(
                Problem.error(
                    Location(display, 1, 1, ()),
                    f"the secret is sealed for namespace {sealed.namespace} but lies in the "
                    f"directory of namespace {directory.name}",
                    "wrong_namespace",
                )
            )
            continue
        key = Key("secret", namespace, sealed.name)
        loaded.secrets.append(SecretFile(key, sealed, Location(display, 1, 1, ())))


def _namespace_settings(doc: SourceDocument, problems: list[Problem]) -> dict[str, Any] | None:
    data: dict[str, Any] = doc.data
    bad = [k for k in data if k not in _NAMESPACE_KEYS]
    for name in bad:
        problems.append(
            Problem.error(
                doc.locate((name,)),
                f"unknown key {name!r}; namespace.yaml has description, variables, labels "
                "and allowedNamespaces",
                "invalid_namespace",
            )
        )
    description = data.get("description")
    variables = data.get("variables") or {}
    labels = data.get("labels") or {}
    ok = not bad
    if description is not None and not isinstance(description, str):
        problems.append(Problem.error(doc.locate(("description",)), "must be text", "invalid"))
        ok = False
    if not isinstance(variables, dict):
        problems.append(Problem.error(doc.locate(("variables",)), "must be a map", "invalid"))
        ok = False
    if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
        problems.append(Problem.error(doc.locate(("labels",)), "must map names to text", "invalid"))
        ok = False
    allowed = data.get("allowedNamespaces") or []
    if not isinstance(allowed, list) or not all(isinstance(a, str) for a in allowed):
        problems.append(
            Problem.error(
                doc.locate(("allowedNamespaces",)),
                "must be a list of namespaces (or *) whose flows may reach this one",
                "invalid",
            )
        )
        ok = False
    if not ok:
        return None
    return {
        "description": description,
        "variables": _jsonable(variables),
        "labels": labels,
        "allowed_namespaces": list(allowed),
    }


def _load_kv(root: Path, path: Path, namespace: str, loaded: Loaded) -> None:
    doc = _document(root, path, loaded.problems)
    if doc is None:
        return
    for name, entry in doc.data.items():
        at = doc.locate((name,))
        key = str(name)
        if not _KV_KEY.match(key) or len(key) > KV_KEY_MAX:
            loaded.problems.append(
                Problem.error(
                    at, f"{key!r} is not a KV key: letters, digits, '.', '_' and '-'", "invalid_kv"
                )
            )
            continue
        explicit = (
            isinstance(entry, dict) and "value" in entry and set(entry) <= {"value", "type", "ttl"}
        )
        value = _jsonable(entry["value"] if explicit else entry)
        kind = entry.get("type") if explicit else None
        ttl = entry.get("ttl") if explicit else None
        if kind is not None and kind not in KV_TYPES:
            loaded.problems.append(
                Problem.error(
                    doc.locate((name, "type")),
                    f"type must be one of {', '.join(KV_TYPES)}, not {kind!r}",
                    "invalid_kv",
                )
            )
            continue
        if ttl is not None and not isinstance(ttl, str):
            loaded.problems.append(
                Problem.error(
                    doc.locate((name, "ttl")), "ttl is an ISO 8601 duration such as P7D", "invalid"
                )
            )
            continue
        kind = kind or inferred_type(value)
        loaded.objects.add(
            Desired(Key("kv", namespace, key), (kind, value), at, payload={"ttl": ttl})
        )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _document(root: Path, path: Path, problems: list[Problem]) -> SourceDocument | None:
    display = _rel(root, path)
    text = _text(root, path, problems)
    if text is None:
        return None
    if not text.strip():
        return SourceDocument(display, text, {})
    try:
        return load_source(text, display)
    except SourceError as error:
        problems.append(error.problem)
        return None


def _text(root: Path, path: Path, problems: list[Problem]) -> str | None:
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        problems.append(_error(root, path, "not UTF-8 text"))
    except OSError as error:
        problems.append(_error(root, path, f"cannot read: {error.strerror}"))
    return None


def _files(directory: Path) -> list[Path]:
    """Every file below ``directory``, in path order (os.walk: far quicker than rglob)."""
    if not directory.is_dir():
        return []
    found: list[Path] = []
    for parent, folders, names in os.walk(directory):
        folders.sort()
        base = Path(parent)
        found += [base / name for name in sorted(names) if name not in _SKIPPED]
    return found


def _rel(root: Path, path: Path) -> str:
    """``path`` from ``root``, slash-separated (string work: Path.relative_to is slow at scale)."""
    text, base = path.as_posix(), root.as_posix().rstrip("/") + "/"
    return text[len(base) :] if text.startswith(base) else text


def _error(root: Path, path: Path, message: str) -> Problem:
    return Problem.error(Location(_rel(root, path), 1, 1, ()), message, "invalid_source")
