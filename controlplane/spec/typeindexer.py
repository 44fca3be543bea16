"""Writes :mod:`controlplane.spec.typeindex` and :mod:`controlplane.spec.typealiases` from the
registered types: ``python -m controlplane.spec.typeindex`` (or this module) after adding or
renaming a type. A unit test compares both with what it would write."""

from __future__ import annotations

import sys
from pathlib import Path

Table = dict[str, dict[str, str]]
Aliases = dict[str, tuple[str, ...]]

_HERE = Path(__file__).parent


def current() -> Table:
    """Kind -> name or alias -> module, for every type registered once all plugin modules are
    imported (those of installed plugins aside)."""
    return _generated()[0]


def current_aliases() -> Aliases:
    """Kind -> the aliases among the names of :func:`current`."""
    return _generated()[1]


def _generated() -> tuple[Table, Aliases]:
    from controlplane.spec.registry import Kind, registry

    index: Table = {}
    aliases: Aliases = {}
    for kind in Kind:
        entries = index.setdefault(kind.value, {})
        names: set[str] = set()
        for info in registry.types(kind):
            package, _, module = info.model.__module__.rpartition(".")
            if package != "controlplane.spec.plugins":
                continue  # a type of an installed plugin
            for name in (info.name, *info.aliases):
                entries[name] = module
            names.update(info.aliases)
        if names:
            aliases[kind.value] = tuple(sorted(names))
    return {kind: dict(sorted(entries.items())) for kind, entries in index.items()}, aliases


def render_modules(index: Table) -> str:
    lines = ["MODULES: dict[str, dict[str, str]] = {"]
    for kind, entries in index.items():
        lines.append(f'    "{kind}": {{')
        lines.extend(f'        "{name}": "{module}",' for name, module in entries.items())
        lines.append("    },")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_aliases(aliases: Aliases) -> str:
    lines = ["ALIASES: dict[str, tuple[str, ...]] = {"]
    for kind, names in aliases.items():
        lines.append(f'    "{kind}": (')
        lines.extend(f'        "{name}",' for name in names)
        lines.append("    ),")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _rewrite(path: Path, name: str, table: str) -> None:
    """Replace the assignment of ``name`` (to the end of the file) with ``table``."""
    lines = path.read_text().splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{name}:"))
    end = start if lines[start].rstrip().endswith("{}") else lines.index("}\n", start)
    path.write_text("".join(lines[:start]) + table + "".join(lines[end + 1 :]))


def main() -> int:
    index, aliases = _generated()
    _rewrite(_HERE / "typeindex.py", "MODULES", render_modules(index))
    _rewrite(_HERE / "typealiases.py", "ALIASES", render_aliases(aliases))
    return 0


if __name__ == "__main__":
    sys.exit(main())
