"""Errors of the storage layer.

::

    WeirError
    └── StoreError                 storage failed for a reason a user can act on
        ├── StoreConfigError       settings that cannot work (bad key, bad URL)
        ├── SecretDecryptionError  a secret written with another key
        ├── KvValueError           a KV value that does not match its declared type
        ├── StoragePathError       a file path or URI outside the storage root
        └── MissingRecordError     an update of something that is not stored

Messages name the object and the fix; never a secret value or a password.
"""

from __future__ import annotations

from controlplane.errors import WeirError


class StoreError(WeirError):
    code = "store_error"


class StoreConfigError(StoreError):
    code = "store_config"


class SecretDecryptionError(StoreError):
    code = "secret_undecryptable"


class KvValueError(StoreError):
    code = "kv_invalid_value"


class StoragePathError(StoreError):
    code = "storage_invalid_path"


class MissingRecordError(StoreError):
    code = "not_found"
