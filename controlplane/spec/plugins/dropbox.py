"""Dropbox (``io.kestra.plugin.dropbox.files.*``): files between a Dropbox account and internal
storage over the HTTP API v2, authenticated by ``accessToken``. A path property is a Dropbox path
(``/folder/file``) or the URI of a file in internal storage holding one."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from controlplane.spec.fields import DynBool, DynInt, DynStrList, Text
from controlplane.spec.plugins.jdbc import FetchType
from controlplane.spec.registry import task
from controlplane.spec.tasks import TaskSpec

_FILES = "io.kestra.plugin.dropbox.files"


class _Dropbox(TaskSpec):
    accessToken: Text


@task(f"{_FILES}.Upload")
class DropboxUpload(_Dropbox):
    """Upload the internal-storage file ``from`` to ``to``; output ``metadata``."""

    from_: Text = Field(alias="from")
    to: Text
    mode: Literal["ADD", "OVERWRITE", "add", "overwrite"] | Text = "ADD"
    autorename: DynBool = False


@task(f"{_FILES}.Download")
class DropboxDownload(_Dropbox):
    """Download ``from`` into internal storage; outputs ``uri`` and ``metadata``."""

    from_: Text = Field(alias="from")


@task(f"{_FILES}.List")
class DropboxList(_Dropbox):
    """The entries of folder ``from`` (``recursive``), at most ``limit``, as ``fetchType`` says;
    each: ``name``, ``id``, ``path``, ``type`` (file or folder), ``size``, ``clientModified``."""

    from_: Text = Field(alias="from")
    recursive: DynBool = False
    limit: DynInt = 2000
    fetchType: FetchType = "FETCH"


@task(f"{_FILES}.Move")
class DropboxMove(_Dropbox):
    """Move ``from`` to ``to``; output ``file``."""

    from_: Text = Field(alias="from")
    to: Text
    autorename: DynBool = False
    allowOwnershipTransfer: DynBool = False


@task(f"{_FILES}.Copy")
class DropboxCopy(_Dropbox):
    """Copy ``from`` to ``to``; output ``file``."""

    from_: Text = Field(alias="from")
    to: Text
    autorename: DynBool = False


@task(f"{_FILES}.Delete")
class DropboxDelete(_Dropbox):
    """Delete ``from`` (a file or a folder); output ``file``."""

    from_: Text = Field(alias="from")


@task(f"{_FILES}.CreateFolder")
class DropboxCreateFolder(_Dropbox):
    path: Text
    autorename: DynBool = False


@task(f"{_FILES}.Search")
class DropboxSearch(_Dropbox):
    """Files matching ``query`` (under ``path``, with ``fileExtensions``), as ``fetchType`` says."""

    query: Text
    path: Text | None = None
    maxResults: DynInt | None = None
    fileExtensions: DynStrList | None = None
    fetchType: FetchType = "FETCH"
