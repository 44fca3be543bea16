"""Typed KV pairs with expiry."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from controlplane.engine.model import now
from controlplane.engine.ports import KvType
from controlplane.store import KvValueError, SqlStore


@pytest.mark.parametrize(
    ("type", "value", "read_back"),
    [
        ("STRING", "hello", "hello"),
        ("NUMBER", 42, 42),
        ("NUMBER", 2.5, 2.5),
        ("BOOLEAN", False, False),
        (
            "DATETIME",
            datetime(2025, 3, 1, 8, 30, tzinfo=UTC),
            datetime(2025, 3, 1, 8, 30, tzinfo=UTC),
        ),
        ("DATETIME", "2025-03-01T08:30:00Z", datetime(2025, 3, 1, 8, 30, tzinfo=UTC)),
        ("DATE", date(2025, 3, 1), date(2025, 3, 1)),
        ("DURATION", timedelta(hours=1, minutes=30), timedelta(hours=1, minutes=30)),
        ("DURATION", "P1DT2H", timedelta(days=1, hours=2)),
        (
            "JSON",
            {"rows": [1, 2], "ok": True, "none": None},
            {"rows": [1, 2], "ok": True, "none": None},
        ),
    ],
)
def test_kv_values_keep_their_type(
    store: SqlStore, type: KvType, value: Any, read_back: Any
) -> None:
    with store.unit() as repos:
        written = repos.kv.update_kv("company.team", "key", value, type, None)
    with store.unit() as repos:
        read = repos.kv.read_kv("company.team", "key")
    assert read is not None
    assert (read.type, read.value) == (type, read_back)
    assert type != "NUMBER" or isinstance(read.value, int) == isinstance(value, int)
    assert written == read


@pytest.mark.parametrize(
    ("type", "value"),
    [
        ("NUMBER", "42"),
        ("BOOLEAN", 1),
        ("STRING", 3),
        ("DATETIME", "2025-03-01T08:30:00"),
        ("JSON", {1, 2}),
    ],
)
def test_a_value_of_the_wrong_type_is_refused(store: SqlStore, type: KvType, value: Any) -> None:
    with (
        pytest.raises(KvValueError, match=r"KV 'key' of namespace 'company\.team'"),
        store.unit() as repos,
    ):
        repos.kv.update_kv("company.team", "key", value, type, None)


def test_expired_entries_are_not_returned(store: SqlStore) -> None:
    with store.unit() as repos:
        repos.kv.update_kv("company.team", "gone", "x", "STRING", now() - timedelta(seconds=1))
        repos.kv.update_kv("company.team", "kept", "y", "STRING", now() + timedelta(hours=1))
    with store.unit() as repos:
        assert repos.kv.read_kv("company.team", "gone") is None
        kept = repos.kv.read_kv("company.team", "kept")
        listed = [entry.key for entry in repos.kv.list_kv("company.team")]
    assert kept is not None and kept.expires is not None and kept.expires > now()
    assert listed == ["kept"]


def test_overwriting_raises_the_revision_and_delete_removes(store: SqlStore) -> None:
    with store.unit() as repos:
        first = repos.kv.update_kv("company.team", "key", 1, "NUMBER", None, "terraform")
        second = repos.kv.update_kv("company.team", "key", "one", "STRING", None)
    assert (first.revision, second.revision) == (1, 2)
    assert second.managed_by is None
    with store.unit() as repos:
        assert repos.kv.read_kv("company", "key") is None  # exactly this namespace
        assert repos.kv.delete_kv("company.team", "key") is True
        assert repos.kv.delete_kv("company.team", "key") is False
        assert repos.kv.read_kv("company.team", "key") is None
