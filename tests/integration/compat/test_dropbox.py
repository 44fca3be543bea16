"""Dropbox files against a local double of the HTTP API v2 (RPC endpoints with JSON, content
endpoints with ``Dropbox-API-Arg``), on the shape of kestra-io/blueprints'
``dropbox-hr-resume-intake`` and ``dropbox-report-distribution`` flows: files listed, each
downloaded and moved to an archive folder, and a report uploaded."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from controlplane.engine.model import State
from tests.doubles import Received, Reply, ServiceDouble
from tests.integration.compat.conftest import Flows

TOKEN = "sl.dropbox-test-token-42"


class DropboxDouble(ServiceDouble):
    """Files by lower-case path; ``list_folder`` pages two entries at a time."""

    def __init__(self) -> None:
        super().__init__()
        self.files: dict[str, bytes] = {
            "/intake/cv.pdf": b"%PDF resume",
            "/intake/lebenslauf.docx": b"docx resume",
            "/intake/notes.txt": b"notes",
        }

    def _meta(self, path: str) -> dict[str, Any]:
        return {
            ".tag": "file",
            "name": path.rsplit("/", 1)[-1],
            "path_lower": path.lower(),
            "path_display": path,
            "id": f"id:{abs(hash(path)) % 10_000}",
            "size": len(self.files[path]),
            "client_modified": "2026-12-01T10:00:00Z",
        }

    def handle(self, request: Received) -> Reply:
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return Reply(401, {"error_summary": "invalid_access_token/"})
        arg = json.loads(request.headers.get("dropbox-api-arg") or "{}")
        if request.path == "/2/files/list_folder":
            names = sorted(p for p in self.files if p.startswith(request.body["path"] + "/"))
            return self._page(names, 0)
        if request.path == "/2/files/list_folder/continue":
            names = sorted(self.files)
            return self._page(names, int(request.body["cursor"]))
        if request.path == "/2/files/download":
            if arg["path"] not in self.files:
                return Reply(409, {"error_summary": "path/not_found/"})
            meta = json.dumps(self._meta(arg["path"]))
            return Reply(200, self.files[arg["path"]], headers={"Dropbox-API-Result": meta})
        if request.path == "/2/files/move_v2":
            self.files[request.body["to_path"]] = self.files.pop(request.body["from_path"])
            return Reply(200, {"metadata": self._meta(request.body["to_path"])})
        if request.path == "/2/files/upload":
            data = request.body if isinstance(request.body, bytes) else str(request.body)
            self.files[arg["path"]] = data.encode() if isinstance(data, str) else data
            return Reply(200, self._meta(arg["path"]))
        return Reply(404, {"error_summary": "unknown endpoint"})

    def _page(self, names: list[str], start: int) -> Reply:
        page = names[start : start + 2]
        more = start + 2 < len(names)
        entries = [self._meta(p) for p in page]
        return Reply(200, {"entries": entries, "cursor": str(start + 2), "has_more": more})


@pytest.fixture
def dropbox(flows: Flows, monkeypatch: pytest.MonkeyPatch) -> Iterator[DropboxDouble]:
    with DropboxDouble() as double:
        monkeypatch.setenv("DROPBOX_BASE_URL", double.url)
        with flows.store.unit() as repos:
            repos.secrets.update_secret("company.team", "DROPBOX_ACCESS_TOKEN", TOKEN)
        yield double


def test_files_are_listed_downloaded_moved_and_uploaded(
    flows: Flows, dropbox: DropboxDouble
) -> None:
    final = flows.run(
        """
id: dropbox-hr-resume-intake
namespace: company.team
tasks:
  - id: list_resumes
    type: io.kestra.plugin.dropbox.files.List
    from: /intake
    limit: 500
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: "{{ outputs.list_resumes.rows | jq('[.[] | select(.name | test(\\"(pdf|docx)$\\"))]') | first }}"
    tasks:
      - id: download
        type: io.kestra.plugin.dropbox.files.Download
        from: "{{ fromJson(taskrun.value).path }}"
      - id: archive
        type: io.kestra.plugin.dropbox.files.Move
        from: "{{ fromJson(taskrun.value).path }}"
        to: "/archive/{{ fromJson(taskrun.value).name }}"
  - id: report
    type: io.kestra.plugin.core.storage.Write
    content: "2 resumes archived"
    extension: .txt
  - id: upload_report
    type: io.kestra.plugin.dropbox.files.Upload
    from: "{{ outputs.report.uri }}"
    to: /reports/intake.txt
    mode: OVERWRITE
pluginDefaults:
  - type: io.kestra.plugin.dropbox
    values:
      accessToken: "{{ secret('DROPBOX_ACCESS_TOKEN') }}"
"""
    )
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    listed = next(r for r in final.task_runs if r.task_id == "list_resumes").outputs
    assert listed["size"] == 3
    assert listed["rows"][0] == {
        "name": "cv.pdf",
        "id": "/intake/cv.pdf",
        "path": "/intake/cv.pdf",
        "type": "file",
        "size": 11,
        "clientModified": "2026-12-01T10:00:00Z",
    }
    downloads = [r.outputs for r in final.task_runs if r.task_id == "download"]
    contents = set()
    for output in downloads:
        with flows.store.files.open(output["uri"]) as stream:
            contents.add(stream.read())
        assert output["metadata"]["pathDisplay"].startswith("/intake/")
    assert contents == {b"%PDF resume", b"docx resume"}
    assert sorted(dropbox.files) == [
        "/archive/cv.pdf",
        "/archive/lebenslauf.docx",
        "/intake/notes.txt",
        "/reports/intake.txt",
    ]
    assert dropbox.files["/reports/intake.txt"] == b"2 resumes archived"
    (upload,) = dropbox.requests_to("POST", "/2/files/upload")
    assert json.loads(upload.headers["dropbox-api-arg"])["mode"] == "overwrite"


def test_a_missing_file_fails_with_dropbox_error_summary(
    flows: Flows, dropbox: DropboxDouble
) -> None:
    final = flows.run(
        """
id: dropbox-missing
namespace: company.team
tasks:
  - id: download
    type: io.kestra.plugin.dropbox.files.Download
    accessToken: "{{ secret('DROPBOX_ACCESS_TOKEN') }}"
    from: /intake/nowhere.pdf
"""
    )
    assert final.state is State.FAILED
    assert "Dropbox answered 409: path/not_found/" in flows.logs(final, "ERROR")
