"""Namespace files through the API: raw bytes in and out, paths that stay inside the namespace,
and the control-plane rules checked before any byte is written."""

from __future__ import annotations

import hashlib
import os

import pytest

from controlplane.engine.ports import Store, namespace_file_path
from tests.integration.api.conftest import Api, LiveServer

OCTETS = {"Content-Type": "application/octet-stream"}


@pytest.fixture
def store(live_server: LiveServer) -> Store:
    found: Store = live_server.server.config.app.state.store
    return found


def test_a_file_is_uploaded_read_listed_and_deleted(api: Api, store: Store) -> None:
    script = b"print('hello')\n"
    created = api.put("/namespaces/files.crud/files/scripts/etl/run.py", data=script)
    assert created.status_code == 201
    assert created.headers["ETag"] == '"1"'
    meta = created.json()
    assert meta["path"] == "scripts/etl/run.py"
    assert (meta["size"], meta["sha256"]) == (len(script), hashlib.sha256(script).hexdigest())
    assert set(meta) == {"namespace", "path", "size", "sha256", "managed_by", "revision", "updated"}
    read = api.get("/namespaces/files.crud/files/scripts/etl/run.py")
    assert (read.status_code, read.content, read.headers["ETag"]) == (200, script, '"1"')
    assert read.headers["Content-Type"].startswith("text/x-python")
    api.put("/namespaces/files.crud/files/scripts/util.sql", data=b"select 1")
    api.put("/namespaces/files.crud/files/README.md", data=b"# read me")
    listed = api.get("/namespaces/files.crud/files").json()
    assert [f["path"] for f in listed] == ["README.md", "scripts/etl/run.py", "scripts/util.sql"]
    under = api.get("/namespaces/files.crud/files", params={"prefix": "scripts/"}).json()
    assert [f["path"] for f in under] == ["scripts/etl/run.py", "scripts/util.sql"]
    assert api.delete("/namespaces/files.crud/files/scripts/etl/run.py").status_code == 204
    assert api.get("/namespaces/files.crud/files/scripts/etl/run.py").status_code == 404
    assert not store.files.exists(namespace_file_path("files.crud", "scripts/etl/run.py"))
    assert api.delete("/namespaces/files.crud/files/scripts/etl/run.py").status_code == 404
    assert len(api.get("/namespaces/files.crud/files").json()) == 2


def test_binary_content_round_trips_with_its_sha256(api: Api) -> None:
    data = bytes(range(256)) * 64 + os.urandom(4096)
    saved = api.put("/namespaces/files.binary/files/blob.bin", data=data, headers=OCTETS)
    assert saved.json()["sha256"] == hashlib.sha256(data).hexdigest()
    read = api.get("/namespaces/files.binary/files/blob.bin")
    assert read.content == data
    assert read.headers["Content-Type"] == "application/octet-stream"
    unknown = api.put("/namespaces/files.binary/files/no-suffix", data=b"")
    assert (unknown.status_code, unknown.json()["size"]) == (201, 0)
    empty = api.get("/namespaces/files.binary/files/no-suffix")
    assert (empty.content, empty.headers["Content-Type"]) == (b"", "application/octet-stream")


def test_replacing_a_file_bumps_its_revision(api: Api) -> None:
    path = "/namespaces/files.replace/files/conf/app.yml"
    api.put(path, data=b"a: 1")
    replaced = api.put(path, data=b"a: 2")
    assert (replaced.status_code, replaced.json()["revision"]) == (200, 2)
    assert replaced.json()["sha256"] == hashlib.sha256(b"a: 2").hexdigest()
    assert api.get(path).content == b"a: 2"


@pytest.mark.parametrize(
    "path",
    [
        "a/%2E%2E/b",
        "%2E%2E/outside",
        "%2E%2E",
        "a/%2E/b",
        "%2Fetc/passwd",
        "a//b",
        "a/",
        "a%5Cb",
        "a%00b",
        "x" * 256,
    ],
)
def test_paths_leaving_the_namespace_or_malformed_are_refused(
    api: Api, store: Store, path: str
) -> None:
    refused = api.put(f"/namespaces/files.paths/files/{path}", data=b"nope")
    assert refused.status_code == 400, path
    assert refused.json()["code"] == "bad_request"
    assert "relative and '/'-separated, such as 'scripts/etl.py'" in refused.json()["message"]
    assert api.get(f"/namespaces/files.paths/files/{path}").status_code == 400
    assert api.get("/namespaces/files.paths/files").json() == []
    assert not list(store.files.list("files/paths"))


def test_a_path_over_1024_characters_is_refused(api: Api) -> None:
    long = api.put("/namespaces/files.paths/files/" + "a/" * 512 + "b", data=b"")
    assert (long.status_code, long.json()["code"]) == (422, "invalid")
    wide = api.put("/namespaces/files.paths/files/" + "é/" * 400 + "b", data=b"")
    assert (wide.status_code, wide.json()["code"]) == (400, "bad_request")


def test_a_file_and_a_folder_cannot_share_a_path(api: Api) -> None:
    api.put("/namespaces/files.clash/files/lib/tool.py", data=b"x")
    folder = api.put("/namespaces/files.clash/files/lib", data=b"y")
    assert (folder.status_code, folder.json()["code"]) == (409, "conflict")
    below = api.put("/namespaces/files.clash/files/lib/tool.py/inner", data=b"z")
    assert (below.status_code, below.json()["details"]) == (409, {"file": "lib/tool.py"})
    assert api.delete("/namespaces/files.clash/files/lib/tool.py").status_code == 204
    assert api.put("/namespaces/files.clash/files/lib", data=b"y").status_code == 201
    assert api.get("/namespaces/files.clash/files/lib").content == b"y"


def test_a_stale_if_match_gets_409_and_the_old_bytes_stay(api: Api) -> None:
    path = "/namespaces/files.revision/files/job.sh"
    api.put(path, data=b"echo one")
    stale = api.put(path, data=b"echo two", headers={"If-Match": '"4"'})
    assert (stale.status_code, stale.json()["code"]) == (409, "revision_mismatch")
    assert api.put(path, data=b"echo two", headers={"If-Match": "0"}).status_code == 409
    assert api.delete(path, headers={"If-Match": '"2"'}).status_code == 409
    read = api.get(path)
    assert (read.content, read.headers["ETag"]) == (b"echo one", '"1"')
    assert api.get("/namespaces/files.revision/files").json()[0]["sha256"] == (
        hashlib.sha256(b"echo one").hexdigest()
    )
    fresh = api.put(path, data=b"echo two", headers={"If-Match": '"1"'})
    assert (fresh.status_code, fresh.headers["ETag"]) == (200, '"2"')
    assert api.get(path).content == b"echo two"


def test_a_file_managed_elsewhere_keeps_its_bytes_unless_forced(api: Api) -> None:
    path = "/namespaces/files.managed/files/flows/main.py"
    tf = {"X-Weir-Manager": "terraform"}
    assert api.put(path, data=b"by terraform", headers=tf).json()["managed_by"] == "terraform"
    refused = api.put(path, data=b"by hand", headers={"X-Weir-Manager": "me"})
    assert (refused.status_code, refused.json()["code"]) == (409, "managed_elsewhere")
    assert refused.json()["details"]["managed_by"] == "terraform"
    assert api.delete(path).status_code == 409
    assert api.get(path).content == b"by terraform"
    assert api.get(path).headers["ETag"] == '"1"'
    forced = api.put(path, params={"force": "true"}, data=b"by hand")
    assert (forced.status_code, forced.json()["managed_by"]) == (200, None)
    assert api.get(path).content == b"by hand"


def test_the_openapi_document_declares_the_raw_body(api: Api) -> None:
    document = api.get("/openapi.json").json()
    operation = document["paths"]["/api/v1/namespaces/{namespace}/files/{path}"]["put"]
    assert operation["requestBody"]["content"] == {
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
    }
