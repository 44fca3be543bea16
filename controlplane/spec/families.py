"""The plugin family a Kestra type belongs to, so that an unknown type says what to ask for.

Kestra ships its types in plugin families: ``io.kestra.plugin.serdes.csv.IonToCsv`` belongs to
the serdes family (Kestra's ``plugin-serdes``), ``io.kestra.plugin.gcp.bigquery.Query`` to
gcp.bigquery (``plugin-gcp``), ``io.kestra.plugin.core.storage.Concat`` to Kestra's core.
"""

from __future__ import annotations

# Families whose second segment names a product of its own (one family each, one Kestra plugin).
_GROUPED = {"aws", "azure", "gcp", "jdbc", "scripts", "notifications", "fs", "ai",
            "googleworkspace", "microsoft365", "kubernetes", "elasticsearch"}  # fmt: skip
_LEGACY_SCRIPTS = {"Bash", "Python", "Node", "Script"}
_PREFIX = "io.kestra.plugin."
_OUTSIDE = "a plugin outside Kestra's own families"


def family_of(type_name: str) -> str:
    """The family of ``type_name`` in words: ``plugin family serdes, Kestra's plugin-serdes``."""
    if type_name.startswith("io.kestra.core.tasks.scripts."):
        short = type_name.rsplit(".", 1)[-1]
        if short in _LEGACY_SCRIPTS:
            return "a legacy script task removed in Kestra 0.17; use io.kestra.plugin.scripts.*"
    if type_name.startswith("io.kestra.core.tasks.test.") or ".test." in type_name:
        return "Kestra's own test build, shipped in no release"
    if type_name.startswith("io.kestra.core.") or type_name.startswith(_PREFIX + "core."):
        return f"Kestra core, package {_core_package(type_name)}"
    if not type_name.startswith(_PREFIX):
        return _OUTSIDE
    parts = type_name[len(_PREFIX) :].split(".")[:-1]
    if not parts:
        return _OUTSIDE
    if parts[0] == "ee":
        return "Kestra Enterprise, not in the open-source edition"
    plugin = f"plugin-{parts[0]}"
    if parts[0] in _GROUPED and len(parts) > 1:
        return f"plugin family {parts[0]}.{parts[1]}, Kestra's {plugin}"
    return f"plugin family {parts[0]}, Kestra's {plugin}"


def _core_package(type_name: str) -> str:
    parts = type_name.split(".")
    return parts[-2] if len(parts) >= 2 else "core"
