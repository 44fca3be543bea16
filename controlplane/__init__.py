"""Weir: a declarative workflow orchestrator whose control plane is driven from code."""

__version__ = "0.1.0"
