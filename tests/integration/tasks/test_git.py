"""Git tasks against real repositories: bare repos served as file:// URLs, a smart-HTTP server
(``git http-backend``) requiring basic auth, and the control plane of a real store."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from controlplane.engine.attempt_context import WorkerSettings
from controlplane.engine.control import StoreControlPlane
from controlplane.engine.model import State
from controlplane.engine.sandbox import SandboxSettings
from controlplane.engine.work import AttemptResult
from tests.conftest import EngineFactory
from tests.integration.tasks.conftest import Runner
from tests.waiting import ended

CLONE = "io.kestra.plugin.git.Clone"
SYNC_FILES = "io.kestra.plugin.git.SyncNamespaceFiles"
SYNC_FLOWS = "io.kestra.plugin.git.SyncFlows"
SYNC = "io.kestra.plugin.git.Sync"
NS = "company.team"
TOKEN = "ghp_s3cr3tT0kenValue42"

_GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(*args: str, cwd: Path) -> str:
    env = {**os.environ, **_GIT_ENV}
    # A clone made by a task belongs to the sandbox's user, not to the one running the tests.
    done = subprocess.run(
        ["git", "-c", "safe.directory=*", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


@dataclass
class Repo:
    """A working copy pushing to a bare repository; ``url`` is the bare one's file:// URL."""

    work: Path
    bare: Path

    @property
    def url(self) -> str:
        return self.bare.as_uri()

    def commit(self, files: dict[str, str | None], message: str = "change") -> None:
        for name, content in files.items():
            path = self.work / name
            if content is None:
                path.unlink()
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
        git("add", "-A", cwd=self.work)
        git("commit", "-q", "-m", message, cwd=self.work)
        git("push", "-q", "origin", "HEAD", cwd=self.work)

    def branch(self, name: str) -> None:
        git("checkout", "-q", "-b", name, cwd=self.work)


def git_settings(tmp_path: Path) -> WorkerSettings:
    """Task processes may read the file:// origins (as an operator would list a mirror)."""
    sandbox = SandboxSettings(read_only=(tmp_path / "origin",), hidden=(tmp_path / "home",))
    return WorkerSettings(temp_root=tmp_path / "work", kill_grace_seconds=2.0, sandbox=sandbox)


@pytest.fixture
def settings(tmp_path: Path) -> WorkerSettings:
    return git_settings(tmp_path)


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    bare = tmp_path / "origin" / "repo.git"
    bare.mkdir(parents=True)
    git("init", "-q", "--bare", "-b", "main", cwd=bare)
    work = tmp_path / "author"
    git("clone", "-q", bare.as_uri(), str(work), cwd=tmp_path)
    git("checkout", "-q", "-b", "main", cwd=work)
    return Repo(work, bare)


# -- a smart-HTTP git server with basic auth ---------------------------------------------------


class _GitHttpHandler(BaseHTTPRequestHandler):
    """``git http-backend`` as CGI behind basic auth (user ``bot``, password TOKEN)."""

    root: Path
    authorizations: list[str]

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        given = self.headers.get("Authorization", "")
        self.authorizations.append(given)
        expected = "Basic " + base64.b64encode(f"bot:{TOKEN}".encode()).decode()
        if given != expected:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        path, _, query = self.path.partition("?")
        body = self._body()
        env = {
            "PATH": os.environ["PATH"],
            "GIT_PROJECT_ROOT": str(self.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "REQUEST_METHOD": self.command,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
            "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
            "REMOTE_USER": "bot",
            "REMOTE_ADDR": "127.0.0.1",
        }
        out = subprocess.run(
            ["git", "http-backend"], input=body, env=env, capture_output=True, check=True
        ).stdout
        head, _, payload = out.partition(b"\r\n\r\n")
        status, headers = 200, []
        for line in head.split(b"\r\n"):
            name, _, value = line.decode().partition(":")
            if name.lower() == "status":
                status = int(value.split()[0])
            else:
                headers.append((name, value.strip()))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))
        chunks: list[bytes] = []
        while True:
            size = int(self.rfile.readline().strip(), 16)
            chunk = self.rfile.read(size)
            self.rfile.readline()
            if size == 0:
                return b"".join(chunks)
            chunks.append(chunk)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def http_git(repo: Repo) -> Iterator[tuple[str, list[str]]]:
    """(URL of ``repo`` over HTTP, the Authorization headers the server received)."""
    seen: list[str] = []
    handler = type(
        "Handler", (_GitHttpHandler,), {"root": repo.bare.parent, "authorizations": seen}
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/{repo.bare.name}", seen
    server.shutdown()
    server.server_close()
    thread.join()


def _everything_said(runner: Runner, result: AttemptResult) -> str:
    return "\n".join(runner.messages(result)) + repr(result.outputs) + str(result.error)


# -- Clone --------------------------------------------------------------------------------------


def test_clone_checks_out_the_branch_at_the_given_depth(
    runner: Runner, repo: Repo, tmp_path: Path
) -> None:
    repo.commit({"README.md": "main\n"})
    repo.branch("feature")
    repo.commit({"app.txt": "v1\n"})
    repo.commit({"app.txt": "v2\n"})
    workdir = tmp_path / "wd"
    result = runner.run(
        {"id": "c", "type": CLONE, "url": repo.url, "branch": "feature", "directory": "src"},
        working_dir=workdir,
    )
    assert result.state is State.SUCCESS, runner.messages(result)
    cloned = workdir / "src"
    assert result.outputs == {"directory": str(cloned.resolve())}
    assert (cloned / "app.txt").read_text() == "v2\n"
    assert git("rev-parse", "--abbrev-ref", "HEAD", cwd=cloned) == "feature"
    assert git("rev-list", "--count", "HEAD", cwd=cloned) == "1"


def test_clone_without_depth_limit_has_the_history_and_can_pin_a_commit(
    runner: Runner, repo: Repo, tmp_path: Path
) -> None:
    repo.commit({"app.txt": "v1\n"})
    first = git("rev-parse", "HEAD", cwd=repo.work)
    repo.commit({"app.txt": "v2\n"})
    workdir = tmp_path / "wd"
    result = runner.run({"id": "c", "type": CLONE, "url": repo.url, "commit": first},
                        working_dir=workdir)  # fmt: skip
    assert result.state is State.SUCCESS, runner.messages(result)
    assert (workdir / "app.txt").read_text() == "v1\n"
    assert git("rev-parse", "HEAD", cwd=workdir) == first
    assert any("detached HEAD" in m for m in runner.messages(result))


def test_clone_of_a_tag_applies_the_git_config(runner: Runner, repo: Repo, tmp_path: Path) -> None:
    repo.commit({"app.txt": "v1\n"})
    git("tag", "-a", "v1.0", "-m", "release", cwd=repo.work)
    git("push", "-q", "origin", "v1.0", cwd=repo.work)
    repo.commit({"app.txt": "v2\n"})
    workdir = tmp_path / "wd"
    result = runner.run(
        {
            "id": "c",
            "type": CLONE,
            "url": repo.url,
            "tag": "v1.0",
            "gitConfig": {"core.fileMode": False, "remote.origin.tagOpt": "--no-tags"},
        },
        working_dir=workdir,
    )
    assert result.state is State.SUCCESS, runner.messages(result)
    assert (workdir / "app.txt").read_text() == "v1\n"
    assert git("config", "core.filemode", cwd=workdir) == "false"
    assert git("config", "remote.origin.tagopt", cwd=workdir) == "--no-tags"
    refused = runner.run({"id": "c", "type": CLONE, "url": repo.url, "tag": "v1.0", "noTags": True})
    assert refused.state is State.FAILED
    assert refused.error == "'tag' cannot be used with 'noTags: true'"


def test_clone_into_a_folder_that_already_has_files(
    runner: Runner, repo: Repo, tmp_path: Path
) -> None:
    repo.commit({"app.txt": "from git\n"})
    workdir = tmp_path / "wd"
    workdir.mkdir()
    (workdir / "input.csv").write_text("a,b\n")
    result = runner.run({"id": "c", "type": CLONE, "url": repo.url}, working_dir=workdir)
    assert result.state is State.SUCCESS, runner.messages(result)
    assert (workdir / "app.txt").read_text() == "from git\n"
    assert (workdir / "input.csv").read_text() == "a,b\n"
    assert git("rev-parse", "--abbrev-ref", "HEAD", cwd=workdir) == "main"


def test_clone_of_a_missing_branch_fails_with_gits_reason(runner: Runner, repo: Repo) -> None:
    repo.commit({"app.txt": "v1\n"})
    result = runner.run({"id": "c", "type": CLONE, "url": repo.url, "branch": "nope"})
    assert result.state is State.FAILED
    assert result.error is not None
    assert "nope" in result.error and repo.url in result.error


def test_clone_over_http_sends_the_token_only_as_a_header(
    runner: Runner, repo: Repo, http_git: tuple[str, list[str]], tmp_path: Path
) -> None:
    url, seen = http_git
    repo.commit({"app.txt": "private\n"})
    runner.put_secret(NS, "GIT_TOKEN", TOKEN)
    workdir = tmp_path / "wd"
    result = runner.run(
        {
            "id": "c",
            "type": CLONE,
            "url": url,
            "username": "bot",
            "password": "{{ secret('GIT_TOKEN') }}",
        },
        working_dir=workdir,
    )
    assert result.state is State.SUCCESS, runner.messages(result)
    assert (workdir / "app.txt").read_text() == "private\n"
    assert seen and all(header.startswith("Basic ") for header in seen)
    config = (workdir / ".git" / "config").read_text()
    assert f"url = {url}" in config
    assert TOKEN not in config and "bot" not in config
    assert TOKEN not in _everything_said(runner, result)


def test_credentials_written_in_the_url_are_taken_out_of_it(
    runner: Runner, repo: Repo, http_git: tuple[str, list[str]], tmp_path: Path
) -> None:
    url, _ = http_git
    repo.commit({"app.txt": "private\n"})
    with_userinfo = url.replace("http://", f"http://bot:{TOKEN}@")
    workdir = tmp_path / "wd"
    result = runner.run({"id": "c", "type": CLONE, "url": with_userinfo}, working_dir=workdir)
    assert result.state is State.SUCCESS, runner.messages(result)
    assert TOKEN not in (workdir / ".git" / "config").read_text()
    assert TOKEN not in _everything_said(runner, result)
    assert any(url in m for m in runner.messages(result))


def test_a_wrong_password_fails_without_showing_it(
    runner: Runner, repo: Repo, http_git: tuple[str, list[str]]
) -> None:
    url, _ = http_git
    repo.commit({"app.txt": "private\n"})
    wrong = "wrong-token-0123456789"
    result = runner.run(
        {"id": "c", "type": CLONE, "url": url, "username": "bot", "password": wrong}
    )
    assert result.state is State.FAILED
    assert result.error is not None and url in result.error
    assert wrong not in _everything_said(runner, result)


def test_a_private_key_reaches_ssh_as_a_private_file_that_is_removed(
    runner: Runner,
    repo: Repo,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``ssh`` on PATH is a stand-in for the network hop (no sshd here): it records what git
    gave it, asks SSH_ASKPASS for the passphrase like ssh does, and runs the remote command
    locally; the clone on both ends is real git."""
    repo.commit({"app.txt": "over ssh\n"})
    key = tmp_path / "keys" / "id"
    key.parent.mkdir()
    passphrase = "correct horse battery"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-f", str(key)], check=True
    )
    workdir = tmp_path / "wd"
    record = workdir / ".ssh-record.txt"  # in the sandbox, ssh may write only there
    fake = tmp_path / "bin" / "ssh"
    fake.parent.mkdir()
    fake.write_text(
        f"#!{sys.executable}\n"
        "import os, stat, subprocess, sys\n"
        "args = sys.argv[1:]\n"
        "key = args[args.index('-i') + 1]\n"
        "asked = subprocess.run([os.environ['SSH_ASKPASS'], 'Enter passphrase'],\n"
        "                       capture_output=True, text=True).stdout.strip()\n"
        f"with open({str(record)!r}, 'w') as out:\n"
        "    out.write('\\n'.join([key, oct(stat.S_IMODE(os.stat(key).st_mode)),\n"
        "                          open(key).read(), asked, ' '.join(args)]))\n"
        "os.execvp('sh', ['sh', '-c', args[-1]])\n"
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    runner.put_secret(NS, "SSH_KEY", key.read_text())
    result = runner.run(
        {
            "id": "c",
            "type": CLONE,
            "url": f"ssh://git@example.invalid{repo.bare}",
            "privateKey": "{{ secret('SSH_KEY') }}",
            "passphrase": passphrase,
        },
        working_dir=workdir,
    )
    assert result.state is State.SUCCESS, runner.messages(result)
    assert (workdir / "app.txt").read_text() == "over ssh\n"
    key_path, mode, *rest = record.read_text().split("\n")
    assert mode == "0o600"
    assert "\n".join(rest).startswith(key.read_text().strip())
    assert passphrase in rest
    assert not Path(key_path).exists()
    said = _everything_said(runner, result)
    assert passphrase not in said and "PRIVATE KEY" not in said


def test_clone_of_a_file_url_in_a_working_directory_feeds_the_next_task(
    repo: Repo, tmp_path: Path, engine_factory: EngineFactory
) -> None:
    repo.commit({"data/hello.txt": "hello from git\n"})
    source = f"""
id: clone_and_read
namespace: {NS}
tasks:
  - id: wdir
    type: io.kestra.plugin.core.flow.WorkingDirectory
    tasks:
      - id: clone
        type: {CLONE}
        url: {repo.url}
        branch: main
      - id: read
        type: io.kestra.plugin.scripts.shell.Commands
        taskRunner:
          type: io.kestra.plugin.core.runner.Process
        commands:
          - cat data/hello.txt
"""
    running = engine_factory.running(
        tmp_path / "home", tmp_path / "work", worker=git_settings(tmp_path)
    )
    with running as (store, engine):
        with store.unit() as repos:
            repos.flows.create_flow_revision(NS, "clone_and_read", source, None)
        execution = engine.create_execution(NS, "clone_and_read", {})
        final = ended(engine, execution.id)
        with store.unit() as repos:
            logs = [entry.message for _, entry in repos.logs.list_logs(execution.id)]
    assert final.state is State.SUCCESS, logs
    assert "hello from git" in logs


# -- SyncNamespaceFiles -------------------------------------------------------------------------


def _diff(runner: Runner, result: AttemptResult) -> list[str]:
    with runner.store.files.open(result.outputs["diff"]) as stream:
        return stream.read().decode().splitlines()


def _files(runner: Runner) -> dict[str, tuple[bytes | None, str | None]]:
    control = StoreControlPlane(runner.store)
    return {r.path: (control.read_file(NS, r.path), r.managed_by) for r in control.list_files(NS)}


def _seed_files(runner: Runner) -> None:
    control = StoreControlPlane(runner.store)
    control.save_file(NS, "same.txt", b"same\n", None)
    control.save_file(NS, "dir/query.sql", b"select 1\n", None)
    control.save_file(NS, "old.txt", b"old\n", None)
    control.save_file(NS, "terraform.txt", b"tf\n", "terraform")


def _files_repo(repo: Repo) -> None:
    repo.commit(
        {
            "_files/same.txt": "same\n",
            "_files/dir/query.sql": "select 2\n",
            "_files/new.txt": "new\n",
            "_files/scratch.tmp": "ignored\n",
            "_files/.kestraignore": "*.tmp\n",
            "elsewhere.txt": "not synced\n",
        }
    )


def test_sync_namespace_files_dry_run_changes_nothing_and_reports_the_diff(
    runner: Runner, repo: Repo
) -> None:
    _files_repo(repo)
    _seed_files(runner)
    before = _files(runner)
    result = runner.run(
        {"id": "s", "type": SYNC_FILES, "url": repo.url, "delete": True, "dryRun": True}
    )
    assert result.state is State.SUCCESS, runner.messages(result)
    assert _files(runner) == before
    assert result.outputs["files"] == result.outputs["diff"]
    prefix = "/company/team/_files"
    assert _diff(runner, result) == [
        f'{{gitPath:null,syncState:"DELETED",kestraPath:"{prefix}/old.txt"}}',
        f'{{gitPath:"_files/dir/query.sql",syncState:"OVERWRITTEN",'
        f'kestraPath:"{prefix}/dir/query.sql"}}',
        f'{{gitPath:"_files/new.txt",syncState:"ADDED",kestraPath:"{prefix}/new.txt"}}',
        f'{{gitPath:"_files/same.txt",syncState:"UNCHANGED",kestraPath:"{prefix}/same.txt"}}',
    ]
    messages = runner.messages(result)
    assert "[dry run] ADDED file company.team/new.txt from _files/new.txt" in messages
    assert any("terraform.txt" in m and "'terraform'" in m and "kept" in m for m in messages)


def test_sync_namespace_files_adds_updates_and_deletes_what_git_no_longer_has(
    runner: Runner, repo: Repo
) -> None:
    _files_repo(repo)
    _seed_files(runner)
    result = runner.run({"id": "s", "type": SYNC_FILES, "url": repo.url, "delete": True})
    assert result.state is State.SUCCESS, runner.messages(result)
    manager = f"git:{repo.url}"
    assert _files(runner) == {
        "same.txt": (b"same\n", None),
        "dir/query.sql": (b"select 2\n", manager),
        "new.txt": (b"new\n", manager),
        "terraform.txt": (b"tf\n", "terraform"),
    }
    assert "OVERWRITTEN file company.team/dir/query.sql from _files/dir/query.sql" in (
        runner.messages(result)
    )


def test_sync_namespace_files_keeps_other_files_without_delete(runner: Runner, repo: Repo) -> None:
    _files_repo(repo)
    _seed_files(runner)
    result = runner.run({"id": "s", "type": SYNC_FILES, "url": repo.url})
    assert result.state is State.SUCCESS, runner.messages(result)
    assert _files(runner)["old.txt"] == (b"old\n", None)
    assert not any("DELETED" in line for line in _diff(runner, result))


def test_sync_namespace_files_refuses_to_overwrite_another_managers_file(
    runner: Runner, repo: Repo
) -> None:
    repo.commit({"_files/new.txt": "new\n", "_files/owned.txt": "from git\n"})
    StoreControlPlane(runner.store).save_file(NS, "owned.txt", b"from tf\n", "terraform")
    result = runner.run({"id": "s", "type": SYNC_FILES, "url": repo.url})
    assert result.state is State.FAILED
    assert result.error is not None and "terraform" in result.error
    assert "owned.txt" in result.error
    assert _files(runner) == {"owned.txt": (b"from tf\n", "terraform")}


def test_sync_of_a_missing_git_directory_fails_unless_told_otherwise(
    runner: Runner, repo: Repo
) -> None:
    repo.commit({"other/x.txt": "x\n"})
    failed = runner.run({"id": "s", "type": SYNC_FILES, "url": repo.url, "gitDirectory": "nope"})
    assert failed.state is State.FAILED
    assert failed.error is not None and "'nope' was not found" in failed.error
    skipped = runner.run(
        {
            "id": "s",
            "type": SYNC_FILES,
            "url": repo.url,
            "gitDirectory": "nope",
            "failOnMissingDirectory": False,
            "delete": True,
        }
    )
    assert skipped.state is State.SUCCESS
    assert _diff(runner, skipped) == []


def test_a_sync_without_url_says_so(runner: Runner) -> None:
    result = runner.run({"id": "s", "type": SYNC_FILES})
    assert result.state is State.FAILED
    assert result.error == "'url' is required: the address of the git repository"


# -- SyncFlows ----------------------------------------------------------------------------------


def _flow(flow_id: str, namespace: str, message: str = "hi") -> str:
    return (
        f"id: {flow_id}\nnamespace: {namespace}\n# kept as written\n"
        f"tasks:\n  - id: log\n    type: io.kestra.plugin.core.log.Log\n"
        f"    message: {message}\n"
    )


def _flows(runner: Runner, namespace: str = NS) -> dict[str, tuple[int, str | None, str]]:
    control = StoreControlPlane(runner.store)
    return {
        f"{r.namespace}/{r.flow_id}": (r.revision, r.managed_by, r.source)
        for r in control.list_flows(namespace, include_children=True)
    }


def test_sync_flows_saves_flows_into_the_target_namespace_and_its_children(
    runner: Runner, repo: Repo
) -> None:
    repo.commit(
        {
            "_flows/a.yml": _flow("a", "somewhere.else"),
            "_flows/sub/b.yaml": _flow("b", NS),
            "_flows/README.md": "not a flow\n",
        }
    )
    result = runner.run(
        {
            "id": "s",
            "type": SYNC_FLOWS,
            "url": repo.url,
            "targetNamespace": NS,
            "includeChildNamespaces": True,
        }
    )
    assert result.state is State.SUCCESS, runner.messages(result)
    saved = _flows(runner)
    manager = f"git:{repo.url}"
    assert sorted(saved) == ["company.team.sub/b", "company.team/a"]
    revision, managed_by, source = saved["company.team/a"]
    assert (revision, managed_by) == (1, manager)
    assert "namespace: company.team\n# kept as written\n" in source
    assert _diff(runner, result) == [
        '{gitPath:"_flows/a.yml",syncState:"ADDED",flowId:"a",namespace:"company.team",revision:1}',
        '{gitPath:"_flows/sub/b.yaml",syncState:"ADDED",flowId:"b",'
        'namespace:"company.team.sub",revision:1}',
    ]
    again = runner.run(
        {"id": "s", "type": SYNC_FLOWS, "url": repo.url, "targetNamespace": NS,
         "includeChildNamespaces": True}
    )  # fmt: skip
    assert [line.split(",")[1] for line in _diff(runner, again)] == [
        'syncState:"UNCHANGED"', 'syncState:"UNCHANGED"',
    ]  # fmt: skip
    assert _flows(runner) == saved


def test_sync_flows_ignores_subfolders_unless_child_namespaces_are_included(
    runner: Runner, repo: Repo
) -> None:
    repo.commit({"_flows/a.yml": _flow("a", NS), "_flows/sub/b.yml": _flow("b", NS)})
    result = runner.run({"id": "s", "type": SYNC_FLOWS, "url": repo.url, "targetNamespace": NS})
    assert result.state is State.SUCCESS, runner.messages(result)
    assert sorted(_flows(runner)) == ["company.team/a"]


def test_sync_flows_refuses_an_invalid_flow_and_saves_nothing(runner: Runner, repo: Repo) -> None:
    broken = _flow("broken", NS).replace("io.kestra.plugin.core.log.Log", "io.kestra.Nope")
    repo.commit({"_flows/a.yml": _flow("a", NS), "_flows/broken.yml": broken})
    result = runner.run({"id": "s", "type": SYNC_FLOWS, "url": repo.url, "targetNamespace": NS})
    assert result.state is State.FAILED
    assert result.error is not None
    assert "_flows/broken.yml:" in result.error and "io.kestra.Nope" in result.error
    assert _flows(runner) == {}


def test_sync_flows_refuses_a_flow_whose_namespace_it_cannot_move(
    runner: Runner, repo: Repo
) -> None:
    flow_style = (
        "{id: odd, namespace: elsewhere, tasks: "
        "[{id: log, type: io.kestra.plugin.core.log.Log, message: hi}]}\n"
    )
    repo.commit({"_flows/odd.yml": flow_style})
    result = runner.run({"id": "s", "type": SYNC_FLOWS, "url": repo.url, "targetNamespace": NS})
    assert result.state is State.FAILED
    assert result.error is not None
    assert "_flows/odd.yml: the flow's namespace is elsewhere" in result.error
    assert "belong to company.team" in result.error
    assert _flows(runner, "elsewhere") == {}


def test_sync_flows_skips_invalid_flows_when_told_and_never_deletes_them(
    runner: Runner, repo: Repo
) -> None:
    with runner.store.unit() as repos:
        repos.flows.create_flow_revision(NS, "broken", _flow("broken", NS), None)
    broken = _flow("broken", NS).replace("io.kestra.plugin.core.log.Log", "io.kestra.Nope")
    repo.commit({"_flows/a.yml": _flow("a", NS), "_flows/broken.yml": broken})
    result = runner.run(
        {
            "id": "s",
            "type": SYNC_FLOWS,
            "url": repo.url,
            "targetNamespace": NS,
            "ignoreInvalidFlows": True,
            "delete": True,
        }
    )
    assert result.state is State.SUCCESS, runner.messages(result)
    assert sorted(_flows(runner)) == ["company.team/a", "company.team/broken"]
    assert any(
        m.startswith("Invalid flow imported from Git (_flows/broken.yml)")
        for m in runner.messages(result)
    )


def test_sync_flows_delete_spares_the_running_flow_and_other_managers(
    runner: Runner, repo: Repo
) -> None:
    with runner.store.unit() as repos:
        repos.flows.create_flow_revision(NS, runner.flow_id, _flow(runner.flow_id, NS), None)
        repos.flows.create_flow_revision(NS, "stale", _flow("stale", NS), None)
        repos.flows.create_flow_revision(NS, "tf", _flow("tf", NS), "terraform")
        repos.flows.create_flow_revision(NS, "a", _flow("a", NS, "old"), None)
    repo.commit({"_flows/a.yml": _flow("a", NS, "new")})
    base = {"id": "s", "type": SYNC_FLOWS, "url": repo.url, "targetNamespace": NS, "delete": True}
    dry = runner.run({**base, "dryRun": True})
    assert dry.state is State.SUCCESS, runner.messages(dry)
    assert sorted(_flows(runner)) == ["company.team/a", "company.team/flow",
                                      "company.team/stale", "company.team/tf"]  # fmt: skip
    assert _diff(runner, dry) == [
        '{gitPath:null,syncState:"DELETED",flowId:"stale",namespace:"company.team",revision:1}',
        '{gitPath:"_flows/a.yml",syncState:"UPDATED",flowId:"a",namespace:"company.team",'
        "revision:2}",
    ]
    result = runner.run(base)
    assert result.state is State.SUCCESS, runner.messages(result)
    flows = _flows(runner)
    assert sorted(flows) == ["company.team/a", "company.team/flow", "company.team/tf"]
    assert flows["company.team/a"][:2] == (2, f"git:{repo.url}")
    assert "message: new" in flows["company.team/a"][2]
    assert "DELETED flow company.team/stale" in runner.messages(result)


def test_sync_flows_refuses_a_flow_another_manager_owns(runner: Runner, repo: Repo) -> None:
    with runner.store.unit() as repos:
        repos.flows.create_flow_revision(NS, "owned", _flow("owned", NS, "tf"), "terraform")
    repo.commit({"_flows/owned.yml": _flow("owned", NS, "git"), "_flows/a.yml": _flow("a", NS)})
    result = runner.run({"id": "s", "type": SYNC_FLOWS, "url": repo.url, "targetNamespace": NS})
    assert result.state is State.FAILED
    assert result.error is not None
    assert "company.team/owned by 'terraform'" in result.error
    assert sorted(_flows(runner)) == ["company.team/owned"]


def test_sync_flows_over_http_records_a_manager_without_credentials(
    runner: Runner, repo: Repo, http_git: tuple[str, list[str]]
) -> None:
    url, _ = http_git
    repo.commit({"_flows/a.yml": _flow("a", NS)})
    with_userinfo = url.replace("http://", f"http://bot:{TOKEN}@")
    result = runner.run(
        {"id": "s", "type": SYNC_FLOWS, "url": with_userinfo, "targetNamespace": NS}
    )
    assert result.state is State.SUCCESS, runner.messages(result)
    assert _flows(runner)["company.team/a"][1] == f"git:{url}"
    assert TOKEN not in _everything_said(runner, result)


# -- Sync (deprecated) --------------------------------------------------------------------------


def test_deprecated_sync_brings_flows_and_files_into_the_flows_namespace(
    runner: Runner, repo: Repo
) -> None:
    with runner.store.unit() as repos:
        repos.flows.create_flow_revision(NS, "stale", _flow("stale", NS), None)
    StoreControlPlane(runner.store).save_file(NS, "scripts/gone.py", b"print(0)\n", None)
    repo.commit(
        {
            "_flows/a.yml": _flow("a", "other.place"),
            "_flows/child.yml": _flow("child", f"{NS}.child"),
            "scripts/etl.py": "print(1)\n",
        }
    )
    result = runner.run({"id": "s", "type": SYNC, "url": repo.url, "branch": "main"})
    assert result.state is State.SUCCESS, runner.messages(result)
    assert result.outputs == {}
    assert sorted(_flows(runner)) == ["company.team.child/child", "company.team/a"]
    assert _files(runner) == {"scripts/etl.py": (b"print(1)\n", f"git:{repo.url}")}
    assert runner.messages(result)[-1] == (
        f"Flows and namespace files synced from {repo.url}: 3 added, 2 deleted"
    )
