"""Internal-storage tasks (``io.kestra.plugin.core.storage.*``) and their properties."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from controlplane.spec.fields import DynBool, DynInt, DynStrList, Text
from controlplane.spec.registry import task
from controlplane.spec.tasks import TaskSpec

_STORAGE = "io.kestra.plugin.core.storage"


@task(f"{_STORAGE}.Write")
class Write(TaskSpec):
    """Writes ``content`` to a new file of internal storage."""

    content: Text
    extension: Text = ".ion"


@task(f"{_STORAGE}.Concat")
class Concat(TaskSpec):
    files: list[Text] | Text
    separator: Text | None = None
    extension: Text = ".tmp"


@task(f"{_STORAGE}.Size")
class Size(TaskSpec):
    uri: Text


@task(f"{_STORAGE}.Delete")
class Delete(TaskSpec):
    uri: Text
    errorOnMissing: DynBool = False


@task(f"{_STORAGE}.Reverse")
class Reverse(TaskSpec):
    from_: Text = Field(alias="from")
    separator: Text = "\n"
    charset: Text = "UTF-8"


@task(f"{_STORAGE}.Split")
class Split(TaskSpec):
    from_: Text = Field(alias="from")
    bytes: Text | None = None
    partitions: DynInt | None = None
    rows: DynInt | None = None
    separator: Text = "\n"


@task(f"{_STORAGE}.DeduplicateItems")
class DeduplicateItems(TaskSpec):
    from_: Text = Field(alias="from")
    expr: Text


@task(f"{_STORAGE}.FilterItems")
class FilterItems(TaskSpec):
    from_: Text = Field(alias="from")
    filterCondition: Text
    filterType: Literal["INCLUDE", "EXCLUDE"] = "INCLUDE"
    errorOrNullBehavior: Literal["FAIL", "INCLUDE", "EXCLUDE"] = "FAIL"


@task(f"{_STORAGE}.LocalFiles")
class LocalFiles(TaskSpec):
    """Deprecated: writes ``inputs`` into the working directory and stores ``outputs``."""

    inputs: dict[str, Any] | Text | None = None
    outputs: DynStrList | None = None
