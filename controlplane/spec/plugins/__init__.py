"""Property models of every type Weir implements; importing this package registers them."""

from controlplane.spec.plugins import (
    core,
    dbt,
    flow,
    git,
    gitops,
    jdbc,
    notifications,
    scripts,
    syncs,
    terraform,
    triggers,
)

__all__ = [
    "core",
    "dbt",
    "flow",
    "git",
    "gitops",
    "jdbc",
    "notifications",
    "scripts",
    "syncs",
    "terraform",
    "triggers",
]
