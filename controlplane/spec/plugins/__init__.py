"""Property models of every type Weir implements; importing this package registers them."""

from controlplane.spec.plugins import core, flow, scripts, triggers

__all__ = ["core", "flow", "scripts", "triggers"]
