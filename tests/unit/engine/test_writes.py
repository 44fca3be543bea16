"""The one ownership rule every writer of the control plane obeys (API, tasks, CLI)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from controlplane.engine.writes import WriteIntent, refusal


@dataclass(frozen=True)
class Stored:
    managed_by: str | None
    revision: int = 3


@pytest.mark.parametrize(
    ("owner", "intent"),
    [
        (None, WriteIntent(None)),
        (None, WriteIntent("gitops:main")),
        ("gitops:main", WriteIntent("gitops:main")),
        ("gitops:main", WriteIntent("terraform:prod", force=True)),
        ("terraform", WriteIntent("terraform:prod")),
        ("gitops:main", WriteIntent("gitops:main", if_match=3)),
    ],
)
def test_a_write_is_allowed_to_the_owner_the_unmanaged_and_the_forced(
    owner: str | None, intent: WriteIntent
) -> None:
    assert refusal("flow", "a/b", Stored(owner), intent) is None


def test_another_managers_object_is_refused_with_who_owns_it() -> None:
    found = refusal("flow", "a/b", Stored("terraform:prod"), WriteIntent("gitops:main"))
    assert found is not None and found.reason == "managed"
    assert "flow a/b is managed by 'terraform:prod', not by 'gitops:main'" in found.message
    assert found.details == {"managed_by": "terraform:prod", "revision": 3, "writer": "gitops:main"}


def test_a_writer_without_a_manager_may_not_take_a_managed_object() -> None:
    found = refusal("file", "x.sql of namespace a", Stored("gitops:main"), WriteIntent(None))
    assert found is not None and "a writer without X-Weir-Manager" in found.message


def test_plain_terraform_does_not_adopt_a_states_object() -> None:
    assert refusal("flow", "a/b", Stored("terraform:prod"), WriteIntent("terraform")) is not None


@pytest.mark.parametrize(("stored", "expected"), [(Stored(None), 2), (None, 1)])
def test_a_stale_if_match_is_refused_even_when_forced(stored: Stored | None, expected: int) -> None:
    found = refusal("flow", "a/b", stored, WriteIntent(None, if_match=expected, force=True))
    assert found is not None and found.reason == "stale"
    assert "If-Match expects" in found.message


def test_if_match_zero_means_only_when_absent() -> None:
    assert refusal("flow", "a/b", None, WriteIntent(None, if_match=0)) is None
    found = refusal("flow", "a/b", Stored(None), WriteIntent(None, if_match=0))
    assert found is not None and found.details["revision"] == 3
