"""github.pulls.Create against the local double of GitHub's REST API, on the shape of
kestra-io/blueprints' ``github-push-and-create-pr`` flow: a pull request opened from a branch,
reviewers asked, its URLs given to the next task; GitHub's refusal fails the task with its
reasons."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from controlplane.engine.model import State
from tests.doubles.github import REPOSITORY, TOKEN, GitHubDouble
from tests.integration.compat.conftest import Flows


@pytest.fixture
def github(flows: Flows) -> Iterator[GitHubDouble]:
    with GitHubDouble() as double:
        double.add_branch("main", "a" * 40)
        double.add_branch("dev", "b" * 40)
        with flows.store.unit() as repos:
            repos.secrets.update_secret("system", "GITHUB_ACCESS_TOKEN", TOKEN)
        yield double


def _flow(github: GitHubDouble, source: str, extra: str = "") -> str:
    return f"""
id: github-push-and-create-pr
namespace: system
inputs:
  - id: dev_branch
    type: STRING
    defaults: {source}
variables:
  github_repo: {REPOSITORY}
tasks:
  - id: create_pr
    type: io.kestra.plugin.github.pulls.Create
    endpoint: {github.url}
    sourceBranch: "{{{{ inputs.dev_branch }}}}"
    targetBranch: main
    repository: "{{{{ vars.github_repo }}}}"
    oauthToken: "{{{{ secret('GITHUB_ACCESS_TOKEN') }}}}"
    title: Merge flows into main
    body: "Request to merge changes from {{{{ inputs.dev_branch }}}} into main"
{extra}
  - id: notify_team
    type: io.kestra.plugin.core.log.Log
    message: "New Pull Request to review: {{{{ outputs.create_pr.pullRequestUrl }}}}"
"""


def test_a_pull_request_is_opened_with_its_reviewers(flows: Flows, github: GitHubDouble) -> None:
    extra = "    draft: true\n    reviewers:\n      - octocat\n      - team:backend\n"
    final = flows.run(_flow(github, "dev", extra))
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    (outputs,) = [r.outputs for r in final.task_runs if r.task_id == "create_pr"]
    (number,) = github.pulls
    assert outputs == {
        "issueUrl": f"{github.url}/repos/{REPOSITORY}/issues/{number}",
        "pullRequestUrl": f"https://github.com/{REPOSITORY}/pull/{number}",
    }
    pull = github.pull(number)
    assert (pull["head"]["ref"], pull["base"]["ref"]) == ("dev", "main")
    assert pull["title"] == "Merge flows into main"
    assert pull["body"] == "Request to merge changes from dev into main"
    assert pull["draft"] is True and pull["maintainer_can_modify"] is False
    assert [u["login"] for u in pull["requested_reviewers"]] == ["octocat"]
    assert [t["slug"] for t in pull["requested_teams"]] == ["backend"]
    logs = flows.logs(final)
    assert f"New Pull Request to review: https://github.com/{REPOSITORY}/pull/{number}" in logs
    assert TOKEN not in " ".join(logs)


def test_a_branch_github_does_not_have_fails_with_its_reasons(
    flows: Flows, github: GitHubDouble
) -> None:
    final = flows.run(_flow(github, "nowhere"))
    assert final.state is State.FAILED
    assert not github.pulls
    errors = " ".join(flows.logs(final, "ERROR"))
    assert "GitHub answered 422: Validation Failed (head invalid)" in errors
