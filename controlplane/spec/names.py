"""The rules for the names of namespaces and of what they hold, shared by the API and by the
tools that check a name before sending it (the Terraform provider, the GitOps reconciler); kept
free of the language's models so that importing them costs nothing."""

from __future__ import annotations

NAMESPACE_PATTERN = r"^[a-z0-9][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)*$"
"""Dot-separated parts, each starting with a letter or digit: ``company.team.project``."""

SECRET_NAME_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$"
SECRET_NAME_MAX = 200

KV_KEY_PATTERN = r"^[a-zA-Z0-9][a-zA-Z0-9._-]*$"
"""Kestra's ``KVStore.validateKey``."""
KV_KEY_MAX = 255
