"""Implementations of Kestra's runnable tasks; importing this package registers them all."""

from controlplane.tasks import (
    airbyte,
    core,
    dbt,
    dbt_cloud,
    fivetran,
    git,
    gitops,
    hightouch,
    http,
    jdbc,
    kv,
    notifications,
    remote,
    scripts,
    terraform,
)

__all__ = [
    "airbyte",
    "core",
    "dbt",
    "dbt_cloud",
    "fivetran",
    "git",
    "gitops",
    "hightouch",
    "http",
    "jdbc",
    "kv",
    "notifications",
    "remote",
    "scripts",
    "terraform",
]
