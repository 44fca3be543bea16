"""Implementations of Kestra's runnable tasks; importing this package registers them all."""

from controlplane.tasks import core, http, kv, scripts

__all__ = ["core", "http", "kv", "scripts"]
