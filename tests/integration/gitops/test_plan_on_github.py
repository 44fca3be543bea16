"""``weir gitops plan --github`` in a pull request's job: one comment updated in place, a commit
status, annotations on the files — against a stand-in of GitHub's REST API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from controlplane.cli.main import main
from tests.doubles.github import REPOSITORY, TOKEN, GitHubDouble
from tests.integration.api.conftest import LiveServer
from tests.integration.gitops.conftest import Repo

PR = 17
HEAD = "6dcb09b5b57875f334f61aebed695e2e4193db5e"


@pytest.fixture
def github(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[GitHubDouble]:
    with GitHubDouble() as double:
        double.add_pull_request(PR, HEAD)
        event = tmp_path / "event.json"
        event.write_text(json.dumps({"pull_request": {"number": PR, "head": {"sha": HEAD}}}))
        monkeypatch.setenv("GITHUB_API_URL", double.api_url)
        monkeypatch.setenv("GITHUB_REPOSITORY", REPOSITORY)
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
        monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
        yield double


def test_the_plan_is_one_comment_updated_in_place_with_a_status(
    repo: Repo,
    live_server: LiveServer,
    github: GitHubDouble,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GITHUB_WORKSPACE", str(repo.root.parent))
    repo.flow("pr.team", "hello")
    repo.commit()
    args = ["gitops", "plan", "--source", str(repo.root), "--server", live_server.url, "--github"]

    assert main(args) == 0  # changes are not a failure of the check
    comments = github.comments_on(PR)
    assert len(comments) == 1
    assert "Weir plan: 2 to create, 0 to update, 0 to delete" in comments[0]["body"]
    assert (
        "| + | `flow pr.team/hello` | namespaces/pr.team/flows/hello.yaml |" in comments[0]["body"]
    )
    assert [s["state"] for s in github.statuses_of(HEAD)] == ["success"]

    repo.write(
        "namespaces/pr.team/flows/hello.yaml",
        "id: hello\nnamespace: pr.team\ntasks:\n  - id: x\n    type: io.kestra.plugin.core.log.Nope\n",
    )
    repo.commit()
    capsys.readouterr()
    assert main(args) == 2
    out = capsys.readouterr().out
    annotations = [line for line in out.splitlines() if line.startswith("::")]
    assert annotations == [
        "::error file=source/namespaces/pr.team/flows/hello.yaml,line=5,col=5,"
        "title=weir%3A unknown_type::unknown task type 'io.kestra.plugin.core.log.Nope': "
        "Weir does not implement it (Kestra core, package log)"
    ]
    comments = github.comments_on(PR)
    assert len(comments) == 1  # the same comment, edited
    assert "❌ Weir plan: 1 error(s)" in comments[0]["body"]
    assert [s["state"] for s in github.statuses_of(HEAD)] == ["success", "failure"]
    assert "Weir plan" in (repo.root.parent / "summary.md").read_text()
