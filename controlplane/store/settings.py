"""Where the store keeps its data, read from the environment by ``StoreSettings.from_env``.

The embedded default needs nothing: SQLite in ``$WEIR_HOME/weir.db`` (``./.weir`` by default)
and a secret key generated once into ``$WEIR_HOME/secret.key``. A shared database
(``WEIR_DATABASE_URL``) needs ``WEIR_SECRET_KEY``, since every process must encrypt alike.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from controlplane.store.errors import StoreConfigError

KEY_BYTES = 32
KEY_FILE = "secret.key"


@dataclass(frozen=True)
class StoreSettings:
    home: Path = Path(".weir")
    database_url: str | None = None
    secret_key: bytes | None = None
    storage_path: Path | None = None
    """Root of the internal file storage; ``<home>/storage`` when None."""

    def __post_init__(self) -> None:
        # Absolute from the start: a task's working directory or a script path built from a relative
        # home would be read again relative to another current directory (the task's own).
        object.__setattr__(self, "home", absolute(self.home))
        if self.storage_path is not None:
            object.__setattr__(self, "storage_path", absolute(self.storage_path))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> StoreSettings:
        env = os.environ if environ is None else environ
        home = Path(env.get("WEIR_HOME") or ".weir")
        key = env.get("WEIR_SECRET_KEY")
        storage = env.get("WEIR_STORAGE_PATH")
        return cls(
            home=home,
            database_url=env.get("WEIR_DATABASE_URL") or None,
            secret_key=decode_key(key, "WEIR_SECRET_KEY") if key else None,
            storage_path=Path(storage) if storage else None,
        )

    @property
    def embedded(self) -> bool:
        """True for the default SQLite database under ``home``."""
        return self.database_url is None

    @property
    def url(self) -> str:
        if self.database_url is not None:
            return self.database_url
        return f"sqlite:///{self.home / 'weir.db'}"

    @property
    def storage_root(self) -> Path:
        return self.storage_path if self.storage_path is not None else self.home / "storage"


def absolute(path: Path | str) -> Path:
    """``path`` made absolute against the current directory now, ``~`` expanded, ``..`` folded."""
    return Path(os.path.abspath(Path(path).expanduser()))


def decode_key(text: str, origin: str) -> bytes:
    """The 32 bytes of a base64 key; the message never repeats the text."""
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise StoreConfigError(
            f"{origin} must be the base64 encoding of {KEY_BYTES} random bytes; "
            'make one with: python -c "import base64, os; '
            'print(base64.b64encode(os.urandom(32)).decode())"'
        )
    return key


def resolve_secret_key(settings: StoreSettings) -> bytes:
    """The configured key, or on the embedded default the one kept in ``<home>/secret.key``."""
    if settings.secret_key is not None:
        if len(settings.secret_key) != KEY_BYTES:
            raise StoreConfigError(f"the secret key must be {KEY_BYTES} bytes long")
        return settings.secret_key
    if not settings.embedded:
        raise StoreConfigError(
            "WEIR_SECRET_KEY is required with WEIR_DATABASE_URL: every process sharing the "
            "database must encrypt secrets with the same key"
        )
    return _load_or_create_key(settings.home / KEY_FILE)


def _load_or_create_key(path: Path) -> bytes:
    if path.exists():
        return decode_key(path.read_text(encoding="ascii"), str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written aside then linked into place, so a concurrent reader never sees half a key and
    # of two processes starting at once, the first link wins and both use its key.
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            os.fchmod(out.fileno(), 0o600)
            out.write(base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii") + "\n")
        with contextlib.suppress(FileExistsError):
            os.link(draft, path)
    finally:
        draft.unlink(missing_ok=True)
    return decode_key(path.read_text(encoding="ascii"), str(path))
