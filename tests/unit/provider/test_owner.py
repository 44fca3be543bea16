"""The owner a Terraform state writes as: set, or derived from where the state lives."""

from __future__ import annotations

import json
import re
from pathlib import Path

from controlplane.provider.owner import derive_state_id, manager_for


def backend(directory: Path, kind: str, **config: object) -> Path:
    (directory / ".terraform").mkdir(parents=True)
    state = {"version": 3, "backend": {"type": kind, "config": config, "hash": 1}}
    (directory / ".terraform" / "terraform.tfstate").write_text(json.dumps(state))
    return directory


def test_a_named_owner_is_the_manager() -> None:
    assert manager_for("data-prod", Path("/nowhere"), {}) == "terraform:data-prod"
    assert manager_for("terraform:x", Path("/nowhere"), {}) == "terraform:x"


def test_a_local_state_is_named_after_its_directory_and_path(tmp_path: Path) -> None:
    one, two = tmp_path / "a" / "infra", tmp_path / "b" / "infra"
    one.mkdir(parents=True)
    two.mkdir(parents=True)
    first = derive_state_id(one, {})
    assert re.fullmatch(r"infra-[0-9a-f]{8}", first)
    assert derive_state_id(two, {}) != first  # two checkouts, two local states
    assert derive_state_id(one, {}) == first


def test_a_remote_state_is_the_same_from_every_machine_and_ignores_credentials(
    tmp_path: Path,
) -> None:
    laptop = backend(tmp_path / "laptop", "s3", bucket="tf", key="weir/prod", access_key="A")
    ci = backend(tmp_path / "ci" / "checkout", "s3", bucket="tf", key="weir/prod", access_key="B")
    other = backend(tmp_path / "other", "s3", bucket="tf", key="weir/staging")
    found = derive_state_id(laptop, {})
    assert re.fullmatch(r"s3-[0-9a-f]{8}", found)
    assert derive_state_id(ci, {}) == found
    assert derive_state_id(other, {}) != found


def test_a_workspace_is_part_of_the_state(tmp_path: Path) -> None:
    root = backend(tmp_path / "root", "gcs", bucket="tf", prefix="weir")
    default = derive_state_id(root, {})
    (root / ".terraform" / "environment").write_text("staging")
    staging = derive_state_id(root, {})
    assert staging.endswith("/staging") and staging.split("/")[0] != default
    assert derive_state_id(root, {"TF_WORKSPACE": "prod"}).endswith("/prod")
