"""Property models of every type Weir implements; importing this package registers them."""

from controlplane.spec.plugins import (
    admin,
    core,
    dbt,
    flow,
    git,
    gitops,
    jdbc,
    kubernetes,
    notifications,
    scripts,
    serdes,
    storage,
    syncs,
    terraform,
    triggers,
)

__all__ = [
    "admin",
    "core",
    "dbt",
    "flow",
    "git",
    "gitops",
    "jdbc",
    "kubernetes",
    "notifications",
    "scripts",
    "serdes",
    "storage",
    "syncs",
    "terraform",
    "triggers",
]
