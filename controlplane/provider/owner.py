"""Which Terraform state this provider writes for: the ``managed_by`` of what it writes.

Two states that declare one object must not both own it, so the owner is the state, not the
tool: ``terraform:<id>``. The ``owner`` set in the provider block is the id; else it is derived
from where the state lives, which Terraform records under ``.terraform/`` of the working
directory the provider runs in:

- a remote backend (``s3``, ``gcs``, ``azurerm``, ``remote``, ...): its type and the settings
  that say where the state is (bucket, key, prefix, organization, ...), never credentials, so
  every machine running the same configuration derives the same id;
- the local backend: the state file's absolute path.

The workspace is part of the state's identity (``TF_WORKSPACE``, else ``.terraform/environment``);
a workspace other than ``default`` is appended as ``/<workspace>``. The id reads
``<directory or backend type>-<8 hex digits>``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

PREFIX = "terraform:"
LEGACY = "terraform"
"""What every Terraform state wrote before owners were per state; any state may adopt it."""
LOCATING = frozenset(
    {
        "address",
        "bucket",
        "container_name",
        "hostname",
        "key",
        "organization",
        "path",
        "prefix",
        "region",
        "resource_group_name",
        "schema_name",
        "storage_account_name",
        "workspace_key_prefix",
        "workspaces",
    }
)


def manager_for(owner: str | None, cwd: Path, env: Mapping[str, str]) -> str:
    """``terraform:<owner>``, or the id derived from the state's location."""
    if owner:
        return owner if owner.startswith(PREFIX) else PREFIX + owner
    return PREFIX + derive_state_id(cwd, env)


def derive_state_id(cwd: Path, env: Mapping[str, str]) -> str:
    workspace = env.get("TF_WORKSPACE") or _read(cwd / ".terraform" / "environment") or "default"
    backend = _backend(cwd, env)
    kind = str(backend.get("type") or "local")
    config = backend.get("config") if isinstance(backend.get("config"), dict) else {}
    assert isinstance(config, dict)
    if kind == "local":
        path = config.get("path") or "terraform.tfstate"
        basis: Any = {"local": str((cwd / str(path)).resolve())}
        label = cwd.resolve().name or "root"
    else:
        basis = {kind: {k: v for k, v in sorted(config.items()) if k in LOCATING and v}}
        label = kind
    digest = hashlib.sha256(json.dumps([basis, workspace], sort_keys=True).encode()).hexdigest()
    name = f"{_slug(label)}-{digest[:8]}"
    return name if workspace == "default" else f"{name}/{_slug(workspace)}"


def _backend(cwd: Path, env: Mapping[str, str]) -> dict[str, Any]:
    data_dir = Path(env.get("TF_DATA_DIR") or cwd / ".terraform")
    text = _read(data_dir / "terraform.tfstate")
    if not text:
        return {}
    try:
        found = json.loads(text).get("backend")
    except (ValueError, AttributeError):
        return {}
    return found if isinstance(found, dict) else {}


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError:
        return ""


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "state"
