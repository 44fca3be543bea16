"""Secrets: encrypted at rest, readable only with the key they were written with."""

from __future__ import annotations

import os
from dataclasses import replace

import pytest
from sqlalchemy import select

from controlplane.store import SecretDecryptionError, SqlStore, StoreSettings, open_store
from controlplane.store.tables import SECRETS

VALUE = "s3cr3t-p@ssw0rd-value"


def test_secret_round_trip_gives_metadata_never_the_value(store: SqlStore) -> None:
    with store.unit() as repos:
        meta = repos.secrets.update_secret("company.team", "DB_PASSWORD", VALUE, "terraform")
        again = repos.secrets.update_secret("company.team", "DB_PASSWORD", VALUE + "2")
    assert (meta.revision, again.revision) == (1, 2)
    assert VALUE not in repr(meta)
    with store.unit() as repos:
        assert repos.secrets.read_secret_value("company.team", "DB_PASSWORD") == VALUE + "2"
        assert repos.secrets.read_secret_value("company", "DB_PASSWORD") is None
        assert [m.name for m in repos.secrets.list_secrets("company.team")] == ["DB_PASSWORD"]
        assert repos.secrets.delete_secret("company.team", "DB_PASSWORD") is True
        assert repos.secrets.read_secret_value("company.team", "DB_PASSWORD") is None


def test_stored_ciphertext_differs_from_the_value_and_does_not_contain_it(
    store: SqlStore, store_settings: StoreSettings
) -> None:
    with store.unit() as repos:
        repos.secrets.update_secret("company.team", "A", VALUE)
        repos.secrets.update_secret("company.team", "B", VALUE)
    with store.engine.connect() as connection:
        rows = connection.execute(select(SECRETS.c.ciphertext, SECRETS.c.nonce)).all()
    assert len(rows) == 2
    for row in rows:
        assert VALUE.encode() not in row.ciphertext
        assert len(row.nonce) == 12
    assert rows[0].ciphertext != rows[1].ciphertext  # a fresh nonce per write
    store.close()
    if store_settings.embedded:
        on_disk = b"".join(path.read_bytes() for path in store_settings.home.glob("weir.db*"))
        assert VALUE.encode() not in on_disk


def test_fingerprint_is_stable_for_equal_values_and_reveals_nothing(store: SqlStore) -> None:
    with store.unit() as repos:
        a = repos.secrets.update_secret("company.team", "A", VALUE)
        b = repos.secrets.update_secret("other", "B", VALUE)
        c = repos.secrets.update_secret("company.team", "C", VALUE + "!")
    assert a.fingerprint == b.fingerprint != c.fingerprint
    assert VALUE not in a.fingerprint


def test_a_wrong_key_fails_clearly_without_the_value(
    store: SqlStore, store_settings: StoreSettings
) -> None:
    with store.unit() as repos:
        repos.secrets.update_secret("company.team", "DB_PASSWORD", VALUE)
    other = open_store(replace(store_settings, secret_key=os.urandom(32)))
    try:
        with pytest.raises(SecretDecryptionError) as caught, other.unit() as repos:
            repos.secrets.read_secret_value("company.team", "DB_PASSWORD")
    finally:
        other.close()
    message = str(caught.value)
    assert "'DB_PASSWORD' of namespace 'company.team' cannot be decrypted" in message
    assert "WEIR_SECRET_KEY" in message and VALUE not in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_a_secret_moved_to_another_name_does_not_decrypt(store: SqlStore) -> None:
    with store.unit() as repos:
        repos.secrets.update_secret("company.team", "A", VALUE)
        repos.secrets.update_secret("company.team", "B", "other")
    with store.engine.begin() as connection:
        a = connection.execute(
            select(SECRETS.c.ciphertext, SECRETS.c.nonce).where(SECRETS.c.name == "A")
        ).one()
        connection.execute(
            SECRETS.update()
            .where(SECRETS.c.name == "B")
            .values(ciphertext=a.ciphertext, nonce=a.nonce)
        )
    with pytest.raises(SecretDecryptionError), store.unit() as repos:
        repos.secrets.read_secret_value("company.team", "B")
