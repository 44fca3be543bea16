"""The engine's storage on SQLite or PostgreSQL: ``open_store(StoreSettings.from_env())``."""

from controlplane.store.errors import (
    KvValueError,
    MissingRecordError,
    SecretDecryptionError,
    StoragePathError,
    StoreConfigError,
    StoreError,
)
from controlplane.store.files import LocalFileStorage
from controlplane.store.settings import StoreSettings
from controlplane.store.store import SqlRepositories, SqlStore, open_store

__all__ = [
    "KvValueError",
    "LocalFileStorage",
    "MissingRecordError",
    "SecretDecryptionError",
    "SqlRepositories",
    "SqlStore",
    "StoragePathError",
    "StoreConfigError",
    "StoreError",
    "StoreSettings",
    "open_store",
]
