"""GitHub issues, repository search and workflow dispatch against a local double of the REST
API, on the shape of kestra-io/blueprints' ``github-cross-repo-dispatch``, ``github-search`` and
``create-github-issue-on-failure`` flows."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from controlplane.engine.model import State
from tests.doubles import Received, Reply, ServiceDouble
from tests.integration.compat.conftest import Flows

TOKEN = "ghp_test0123456789abcdef"


def _repo(name: str, stars: int) -> dict[str, object]:
    return {
        "name": name,
        "full_name": f"kestra-io/{name}",
        "html_url": f"https://github.com/kestra-io/{name}",
        "description": f"{name} repository",
        "owner": {"login": "kestra-io"},
        "forks_count": 1,
        "stargazers_count": stars,
        "open_issues_count": 2,
        "updated_at": "2026-12-01T10:00:00Z",
        "created_at": "2020-01-01T10:00:00Z",
        "language": "Java",
        "archived": False,
        "fork": False,
        "disabled": False,
        "is_template": False,
        "default_branch": "main",
        "visibility": "public",
    }


class GitHubDouble(ServiceDouble):
    """``GET /search/repositories`` (paged), ``POST /repos/{o}/{r}/issues`` and
    ``POST .../actions/workflows/{id}/dispatches`` (204), behind a bearer token."""

    def __init__(self) -> None:
        super().__init__()
        self.repositories = [_repo(f"plugin-{i}", 100 - i) for i in range(150)]

    def handle(self, request: Received) -> Reply:
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return Reply(401, {"message": "Bad credentials"})
        if request.path == "/search/repositories":
            page, size = int(request.query["page"][0]), int(request.query["per_page"][0])
            items = self.repositories[(page - 1) * size : page * size]
            return Reply(200, {"total_count": len(self.repositories), "items": items})
        if request.path == "/repos/kestra-io/kestra/issues":
            return Reply(
                201, {"number": 7, "html_url": "https://github.com/kestra-io/kestra/issues/7"}
            )
        if request.path.endswith("/actions/workflows/deploy.yml/dispatches"):
            if request.body["ref"] != "main":
                return Reply(422, {"message": "No ref found for: nowhere"})
            return Reply(204)
        return Reply(404, {"message": "Not Found"})


@pytest.fixture
def github(flows: Flows) -> Iterator[GitHubDouble]:
    with GitHubDouble() as double:
        with flows.store.unit() as repos:
            repos.secrets.update_secret("company.team", "GITHUB_TOKEN", TOKEN)
        yield double


def test_search_dispatch_and_issue(flows: Flows, github: GitHubDouble) -> None:
    final = flows.run(
        f"""
id: github-cross-repo-dispatch
namespace: company.team
tasks:
  - id: find_repositories
    type: io.kestra.plugin.github.repositories.Search
    query: "org:kestra-io"
    sort: STARS
    order: DESC
    visibility: PUBLIC
    fetchType: FETCH
  - id: top
    type: io.kestra.plugin.github.repositories.Search
    query: "org:kestra-io"
  - id: dispatch_each
    type: io.kestra.plugin.core.flow.ForEach
    values: "{{{{ outputs.find_repositories.rows | slice(0, 2) }}}}"
    tasks:
      - id: dispatch
        type: io.kestra.plugin.github.actions.RunWorkflow
        repository: "{{{{ taskrun.value | jq('.full_name') | first }}}}"
        workflowId: deploy.yml
        ref: main
        inputs:
          triggered_by: kestra
  - id: issue
    type: io.kestra.plugin.github.issues.Create
    repository: kestra-io/kestra
    title: Kestra Workflow Failure
    body: "{{{{ execution.id }}}} has failed"
    labels: [bug, workflow]
pluginDefaults:
  - type: io.kestra.plugin.github
    values:
      oauthToken: "{{{{ secret('GITHUB_TOKEN') }}}}"
      endpoint: {github.url}
"""
    )
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    outputs = {r.task_id: r.outputs for r in final.task_runs}
    found = outputs["find_repositories"]
    assert found["size"] == 150 and found["total"] == 150
    assert found["rows"][0]["full_name"] == "kestra-io/plugin-0"
    assert found["rows"][0]["stars_count"] == 100 and found["rows"][0]["visibility"] == "PUBLIC"
    assert outputs["top"]["uri"].startswith("kestra://") and outputs["top"]["size"] == 150
    (search, *_) = github.requests_to("GET", "/search/repositories")
    assert search.query["q"] == ["org:kestra-io is:public"]
    assert search.query["sort"] == ["stars"] and search.query["order"] == ["desc"]
    dispatched = [r.path for r in github.received if r.path.endswith("/dispatches")]
    assert dispatched == [
        "/repos/kestra-io/plugin-0/actions/workflows/deploy.yml/dispatches",
        "/repos/kestra-io/plugin-1/actions/workflows/deploy.yml/dispatches",
    ]
    assert outputs["issue"] == {
        "issueUrl": "https://github.com/kestra-io/kestra/issues/7",
        "issueNumber": 7,
    }
    (issue,) = github.requests_to("POST", "/repos/kestra-io/kestra/issues")
    assert issue.body == {
        "title": "Kestra Workflow Failure",
        "body": f"{final.id} has failed",
        "labels": ["bug", "workflow"],
    }


def test_a_refused_dispatch_fails_with_the_api_message(flows: Flows, github: GitHubDouble) -> None:
    final = flows.run(
        f"""
id: dispatch-nowhere
namespace: company.team
tasks:
  - id: dispatch
    type: io.kestra.plugin.github.actions.RunWorkflow
    oauthToken: "{{{{ secret('GITHUB_TOKEN') }}}}"
    endpoint: {github.url}
    repository: kestra-io/kestra
    workflowId: deploy.yml
    ref: nowhere
"""
    )
    assert final.state is State.FAILED
    assert "GitHub answered 422: No ref found for: nowhere" in flows.logs(final, "ERROR")
