"""Internal file storage on a folder: ``kestra:///<path>`` URIs map to files under the root."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from controlplane.store.errors import StoragePathError

SCHEME = "kestra:///"
_CHUNK = 1024 * 1024
# Drafts of files being written; never listed.
_DRAFT = ".weir-draft-"


class LocalFileStorage:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def put(self, path: str, data: bytes | BinaryIO) -> str:
        """Write atomically: readers see the old file or the new one, never a part."""
        target = self._file(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, draft = tempfile.mkstemp(dir=target.parent, prefix=_DRAFT)
        try:
            with os.fdopen(fd, "wb") as out:
                if isinstance(data, bytes | bytearray | memoryview):
                    out.write(data)
                else:
                    shutil.copyfileobj(data, out, _CHUNK)
            os.replace(draft, target)
        except BaseException:
            Path(draft).unlink(missing_ok=True)
            raise
        return self._uri(target)

    def open(self, uri: str) -> BinaryIO:
        target = self._file(uri)
        try:
            return target.open("rb")
        except (FileNotFoundError, IsADirectoryError):
            raise FileNotFoundError(f"no file in the internal storage at {uri}") from None

    def exists(self, uri: str) -> bool:
        return self._file(uri).is_file()

    def size(self, uri: str) -> int:
        target = self._file(uri)
        if not target.is_file():
            raise FileNotFoundError(f"no file in the internal storage at {uri}")
        return target.stat().st_size

    def delete_prefix(self, path: str) -> int:
        target = self._file(path)
        if target.is_file():
            target.unlink()
            return 1
        if not target.is_dir():
            return 0
        count = sum(1 for found in target.rglob("*") if found.is_file())
        shutil.rmtree(target)
        return count

    def list(self, path: str) -> Iterator[str]:
        target = self._file(path)
        if target.is_file():
            yield self._uri(target)
            return
        if target.is_dir():
            for found in sorted(target.rglob("*")):
                if found.is_file() and not found.name.startswith(_DRAFT):
                    yield self._uri(found)

    def _file(self, path_or_uri: str) -> Path:
        """The file a storage path (or ``kestra:///`` URI) names; refused when outside the root."""
        text = path_or_uri.removeprefix(SCHEME)
        relative = PurePosixPath(text)
        if not text or relative.is_absolute() or "\\" in text:
            raise StoragePathError(
                f"{path_or_uri!r} is not a storage path; use a relative '/'-separated path "
                "such as 'company/team/file.csv' or a kestra:/// URI"
            )
        if ".." in relative.parts:
            raise StoragePathError(
                f"{path_or_uri!r} leaves the internal storage ('..' is not allowed)"
            )
        target = self.root.joinpath(*relative.parts)
        # A symbolic link inside the root must not lead out of it either.
        if not target.resolve().is_relative_to(self.root):
            raise StoragePathError(f"{path_or_uri!r} leads outside the internal storage")
        return target

    def _uri(self, target: Path) -> str:
        return SCHEME + target.relative_to(self.root).as_posix()
