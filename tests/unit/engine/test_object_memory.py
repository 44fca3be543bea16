"""What an object-storage polling trigger remembers: which objects fire, by ``on``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from controlplane.tasks.polled import ObjectMemory


def test_a_new_object_fires_once_and_again_only_when_its_version_changes() -> None:
    memory: dict[str, Any] = {}
    seen = ObjectMemory(memory, "CREATE_OR_UPDATE", None)
    assert seen.change("s3://b/a.csv", "v1") == "CREATE"
    assert seen.change("s3://b/a.csv", "v1") is None
    later = ObjectMemory(memory, "CREATE_OR_UPDATE", None)
    assert later.change("s3://b/a.csv", "v1") is None
    assert later.change("s3://b/a.csv", "v2") == "UPDATE"


def test_on_create_ignores_changes_and_on_update_ignores_new_objects() -> None:
    created = ObjectMemory({}, "CREATE", None)
    assert created.change("gs://b/x", "1") == "CREATE"
    assert created.change("gs://b/x", "2") is None
    updated = ObjectMemory({}, "UPDATE", None)
    assert updated.change("gs://b/x", "1") is None
    assert updated.change("gs://b/x", "2") == "UPDATE"


def test_a_forgotten_or_expired_object_fires_again() -> None:
    memory: dict[str, Any] = {}
    first = ObjectMemory(memory, "CREATE_OR_UPDATE", None)
    first.change("s3://b/moved", "v1")
    first.change("s3://b/kept", "v1")
    first.forget("s3://b/moved")
    assert first.change("s3://b/moved", "v1") == "CREATE"
    memory["objects"]["s3://b/kept"]["lastSeenAt"] = "2000-01-01T00:00:00+00:00"
    expiring = ObjectMemory(memory, "CREATE_OR_UPDATE", timedelta(days=1))
    assert expiring.change("s3://b/kept", "v1") == "CREATE"


def test_objects_gone_from_a_whole_listing_are_forgotten() -> None:
    memory: dict[str, Any] = {}
    seen = ObjectMemory(memory, "CREATE_OR_UPDATE", None)
    seen.change("s3://b/one", "v1")
    seen.change("s3://b/two", "v1")
    seen.keep_only({"s3://b/two"})
    assert sorted(memory["objects"]) == ["s3://b/two"]
