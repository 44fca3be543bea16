"""``weir_namespace_file``: a file of a namespace, from inline text or from a local file.

The file's SHA-256 is computed at plan time, from ``content`` or from the bytes of the
``source`` file, so that editing the local file shows as a diff although no attribute of the
configuration changed. On refresh the server's SHA-256 replaces the state's, so a file changed
outside Terraform shows as a diff too (with the server's text, when ``content`` is used).
Switching between ``content`` and ``source`` with the same bytes writes nothing.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from controlplane.provider.resources.common import (
    REVISION,
    WeirResource,
    created,
    id_attribute,
    namespace_attribute,
    read_or_none,
    split_id,
    writing,
)
from controlplane.provider.runtime.diagnostics import Diagnostics, ProviderError
from controlplane.provider.runtime.resource import Change, Current, Plan, State
from controlplane.provider.runtime.schema import NUMBER, STRING, Attribute, Schema
from controlplane.provider.runtime.values import UNKNOWN

if TYPE_CHECKING:
    from controlplane.client.models import FileMeta

ID_FORM = "namespace/path"
PATH_RULE = (
    "A namespace file path is relative and '/'-separated, such as scripts/etl.py: no leading, "
    "trailing or doubled '/', and no '.' or '..' parts."
)


class NamespaceFileResource(WeirResource):
    type_name = "weir_namespace_file"
    schema = Schema(
        description="A file of a namespace that its flows' scripts can read, from inline "
        "`content` or from a local `source` file.",
        attributes=(
            id_attribute(ID_FORM),
            namespace_attribute("file"),
            Attribute(
                "path",
                STRING,
                "The file's path in the namespace, such as `scripts/etl.py`. Changing it "
                "replaces the file.",
                required=True,
                requires_replace=True,
            ),
            Attribute(
                "content",
                STRING,
                "The file's content as UTF-8 text. Set this or `source`.",
                optional=True,
            ),
            Attribute(
                "source",
                STRING,
                'A local file whose bytes are uploaded, such as `"${path.module}/files/etl.py"`; '
                "an edit of that file shows in the next plan. Set this or `content`.",
                optional=True,
            ),
            Attribute(
                "sha256",
                STRING,
                "The SHA-256 of the file's bytes, in hexadecimal.",
                computed=True,
            ),
            Attribute("size", NUMBER, "The file's size in bytes.", computed=True),
            REVISION,
        ),
    )

    def validate(self, config: State, diagnostics: Diagnostics) -> None:
        path = config.get("path")
        if isinstance(path, str) and not _valid_path(path):
            diagnostics.error(f"path {path!r} is not a namespace file path", PATH_RULE, ["path"])
        content, source = config.get("content"), config.get("source")
        if content is UNKNOWN or source is UNKNOWN:
            return
        if content is not None and source is not None:
            diagnostics.error(
                "content and source are both set",
                "A namespace file takes its bytes from content or from source; remove one.",
                ["source"],
            )
        elif content is None and source is None:
            diagnostics.error(
                "neither content nor source is set",
                "Set content to the file's text, or source to a local file to upload.",
                ["content"],
            )

    def modify_plan(self, plan: Plan) -> None:
        """Plan the SHA-256 and size of the bytes the apply will upload; the revision moves
        only when the bytes do."""
        data = _data(plan.planned)
        plan.planned["sha256"] = UNKNOWN if data is None else _sha256(data)
        plan.planned["size"] = UNKNOWN if data is None else len(data)
        if plan.prior is None or plan.replace:
            return
        if plan.changed("sha256"):
            plan.planned["revision"] = UNKNOWN
        else:
            plan.planned["revision"] = plan.prior["revision"]

    def create(self, change: Change) -> State:
        return self._write(change.planned, if_match=0)

    def update(self, change: Change) -> State:
        prior = change.prior
        assert prior is not None
        if change.planned["revision"] == prior["revision"]:
            return dict(change.planned)  # the same bytes, from content instead of source or back
        return self._write(change.planned, if_match=prior["revision"])

    def read(self, current: Current) -> State | None:
        state = current.state
        found = self._meta(state["namespace"], state["path"])
        if found is None:
            return None
        fresh = _state(found, state.get("content"), state.get("source"))
        if found.sha256 != state.get("sha256") and state.get("content") is not None:
            text = self._text(found)
            if text is not None:
                fresh["content"] = text
        return fresh

    def delete(self, current: Current) -> None:
        state = current.state
        with writing(f"file {_label(state)}"):
            read_or_none(
                lambda: self.provider.client.files.delete(
                    state["namespace"], state["path"], if_match=state["revision"]
                )
            )

    def import_state(self, import_id: str) -> Current:
        """Adopt the file with its text as ``content`` (null when it is not UTF-8 text)."""
        namespace, path = split_id(import_id, ID_FORM)
        found = self._meta(namespace, path)
        if found is None:
            raise ProviderError(
                f"file {path} does not exist in namespace {namespace}",
                "Check the import id, of the form namespace/path such as "
                "company.team/scripts/etl.py.",
            )
        return Current(_state(found, self._text(found), None))

    def _write(self, planned: State, if_match: int) -> State:
        data = _data(planned)
        assert data is not None, "every value is known at apply"
        if _sha256(data) != planned["sha256"]:
            raise ProviderError(
                f"source file {planned['source']} changed since the plan",
                "Run terraform plan (or apply) again to upload its current bytes.",
                ["source"],
            )
        namespace, path = planned["namespace"], planned["path"]
        creating = None
        if if_match == 0:
            creating = created(
                self.provider, self.type_name, f"{namespace}/{path}",
                "namespaces", namespace, "files", tail="/" + quote(path, safe="/"),
            )  # fmt: skip
        with writing(f"file {_label(planned)}", creating=creating):
            saved = self.provider.client.files.write(
                planned["namespace"], planned["path"], data, if_match=if_match
            )
        return _state(saved, planned["content"], planned["source"])

    def _meta(self, namespace: str, path: str) -> FileMeta | None:
        """What the server knows of the file, without its bytes."""
        with writing(f"file {path} of namespace {namespace}"):
            found = self.provider.client.files.list(namespace, prefix=path)
        return next((f for f in found if f.path == path), None)

    def _text(self, found: FileMeta) -> str | None:
        data = read_or_none(lambda: self.provider.client.files.read(found.namespace, found.path))
        if data is None:
            return None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return None


def _data(attributes: State) -> bytes | None:
    """The bytes to upload, or None while they are not known."""
    content, source = attributes.get("content"), attributes.get("source")
    if content is UNKNOWN or source is UNKNOWN:
        return None
    if isinstance(content, str):
        return content.encode("utf-8")
    if not isinstance(source, str):
        return b""
    try:
        return Path(source).read_bytes()
    except FileNotFoundError:
        raise ProviderError(
            f"source file {source} does not exist",
            "Point source at an existing file; a relative path is relative to the directory "
            'terraform runs in, so "${path.module}/files/..." is the usual form.',
            ["source"],
        ) from None
    except OSError as error:
        raise ProviderError(
            f"source file {source} cannot be read: {error.strerror}",
            "Point source at a readable file.",
            ["source"],
        ) from None


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _state(found: FileMeta, content: Any, source: Any) -> State:
    return {
        "id": f"{found.namespace}/{found.path}",
        "namespace": found.namespace,
        "path": found.path,
        "content": content,
        "source": source,
        "sha256": found.sha256,
        "size": found.size,
        "revision": found.revision,
    }


def _valid_path(path: str) -> bool:
    parts = path.split("/")
    return all(part not in ("", ".", "..") for part in parts) and "\\" not in path


def _label(state: State) -> str:
    return f"{state.get('path')} of namespace {state.get('namespace')}"
