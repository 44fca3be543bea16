"""Desired state from Git: load, diff, plan, apply, prune, drift."""
