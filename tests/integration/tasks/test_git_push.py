"""git.PushFlows against a real repository served over smart HTTP with basic auth: a
namespace's flows (children included) are committed to a branch and pushed, namespaces rewritten
to ``targetNamespace``; a second push with nothing changed commits nothing."""

from __future__ import annotations

from pathlib import Path

from controlplane.engine.model import State
from tests.integration.tasks.conftest import Runner
from tests.integration.tasks.test_git import (  # noqa: F401  (fixtures)
    TOKEN,
    Repo,
    git,
    http_git,
    repo,
    settings,
)

PUSH = "io.kestra.plugin.git.PushFlows"


def _flow(namespace: str, flow_id: str) -> str:
    return (
        f"id: {flow_id}\nnamespace: {namespace}\n# kept as written\ntasks:\n"
        "  - id: hi\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
    )


def test_push_flows_commits_a_namespace_and_its_children_to_a_branch(
    runner: Runner,
    repo: Repo,  # noqa: F811
    http_git: tuple[str, list[str]],  # noqa: F811
    tmp_path: Path,
) -> None:
    url, _ = http_git
    repo.commit({"README.md": "flows\n"})
    with runner.store.unit() as repos:
        for namespace, flow_id in (
            ("company.team", "a"),
            ("company.team.sub", "c"),
            ("other", "x"),
        ):
            repos.flows.create_flow_revision(namespace, flow_id, _flow(namespace, flow_id), None)
    task = {
        "id": "push",
        "type": PUSH,
        "url": url,
        "username": "bot",
        "password": TOKEN,
        "branch": "develop",
        "sourceNamespace": "company.team",
        "targetNamespace": "prod.team",
        "includeChildNamespaces": True,
        "commitMessage": "Push from the dev instance",
    }
    first = runner.run(task)
    assert first.state is State.SUCCESS, runner.messages(first)
    commit = first.outputs["commitId"]
    clone = tmp_path / "check"
    git("clone", "-q", "-b", "develop", repo.bare.as_uri(), str(clone), cwd=tmp_path)
    assert git("rev-parse", "HEAD", cwd=clone) == commit
    assert git("log", "-1", "--format=%s", cwd=clone) == "Push from the dev instance"
    assert (clone / "_flows" / "a.yml").read_text() == _flow("prod.team", "a")
    assert (clone / "_flows" / "sub" / "c.yml").read_text() == _flow("prod.team.sub", "c")
    assert not (clone / "_flows" / "x.yml").exists()
    assert (clone / "README.md").exists()

    again = runner.run(task)
    assert again.state is State.SUCCESS
    assert again.outputs["commitId"] is None
    assert "Nothing to push" in runner.messages(again)
    assert TOKEN not in " ".join(runner.messages(first) + runner.messages(again))
