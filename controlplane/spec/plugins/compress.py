"""Archives and compressed files (``io.kestra.plugin.compress.*``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from controlplane.spec.fields import Text
from controlplane.spec.registry import task
from controlplane.spec.tasks import TaskSpec

_COMPRESS = "io.kestra.plugin.compress"

ArchiveAlgorithm = Literal["AR", "ARJ", "CPIO", "DUMP", "JAR", "TAR", "ZIP"]
Compression = Literal[
    "BROTLI", "BZIP2", "DEFLATE", "DEFLATE64", "GZIP", "LZ4BLOCK", "LZ4FRAME", "LZMA", "SNAPPY",
    "SNAPPYFRAME", "XZ", "Z", "ZSTD",
]  # fmt: skip


@task(f"{_COMPRESS}.ArchiveCompress")
class ArchiveCompress(TaskSpec):
    from_: dict[str, Any] | Text = Field(alias="from")
    """File name in the archive -> ``kestra:///`` URI (or a JSON text of that map)."""
    algorithm: ArchiveAlgorithm
    compression: Compression | None = None


@task(f"{_COMPRESS}.ArchiveDecompress")
class ArchiveDecompress(TaskSpec):
    from_: Text = Field(alias="from")
    algorithm: ArchiveAlgorithm
    compression: Compression | None = None


@task(f"{_COMPRESS}.FileCompress")
class FileCompress(TaskSpec):
    from_: Text = Field(alias="from")
    compression: Compression


@task(f"{_COMPRESS}.FileDecompress")
class FileDecompress(TaskSpec):
    from_: Text = Field(alias="from")
    compression: Compression
