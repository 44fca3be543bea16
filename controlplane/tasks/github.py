"""GitHub issues, pull requests, repository search and workflow dispatch over the REST API with
``requests``."""

from __future__ import annotations

import urllib.parse
from typing import Any

import requests

from controlplane.engine.runnable import RunContext, TaskFailed, runs
from controlplane.spec.plugins.github import (
    GitHubIssueComment,
    GitHubIssueCreate,
    GitHubPullCreate,
    GitHubRepositoriesSearch,
    GitHubRunWorkflow,
    _GitHub,
)
from controlplane.tasks import props
from controlplane.tasks.fetched import fetch_type, fetched

API = "https://api.github.com"
_PAGE = 100
_MAX_RESULTS = 1000
"""The search API gives at most the first 1000 results."""


class _Api:
    def __init__(self, task: _GitHub, ctx: RunContext) -> None:
        self.base = (props.optional_text(ctx, task.endpoint) or API).rstrip("/")
        self.headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }
        token = next(
            (
                props.text(ctx, value)
                for value in (task.oauthToken, task.jwtToken, task.appInstallationToken)
                if value is not None
            ),
            None,
        )
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = requests.request(
                method, self.base + path, headers=self.headers, timeout=(30, 120), **kwargs
            )
        except requests.RequestException as exc:
            raise TaskFailed(f"GitHub could not be reached: {type(exc).__name__}") from None
        if response.status_code >= 400:
            raise TaskFailed(f"GitHub answered {response.status_code}: {_message(response)}")
        return response.json() if response.content else None


def _message(response: requests.Response) -> str:
    """GitHub's ``message``, with the reasons of a ``422 Validation Failed``."""
    try:
        answer = response.json()
        message = str(answer.get("message"))
    except (ValueError, AttributeError):
        return response.text[:300]
    reasons = [
        str(e.get("message") or f"{e.get('field')} {e.get('code')}")
        for e in answer.get("errors") or []
        if isinstance(e, dict)
    ]
    return f"{message} ({'; '.join(reasons)})" if reasons else message


def _repo(ctx: RunContext, value: str) -> str:
    repository = props.text(ctx, value).strip().strip("/")
    if repository.count("/") != 1:
        raise TaskFailed(f"'repository' must be owner/name, got '{repository}'")
    return "/".join(urllib.parse.quote(part, safe="") for part in repository.split("/"))


@runs(GitHubIssueCreate)
def run_github_issue_create(task: GitHubIssueCreate, ctx: RunContext) -> dict[str, Any]:
    body: dict[str, Any] = {"title": props.text(ctx, task.title)}
    if task.body is not None:
        body["body"] = props.text(ctx, task.body)
    for key, value in (("labels", task.labels), ("assignees", task.assignees)):
        items = props.string_list(ctx, value, key)
        if items:
            body[key] = items
    api = _Api(task, ctx)
    issue = api.call("POST", f"/repos/{_repo(ctx, task.repository)}/issues", json=body)
    ctx.info(f"Opened issue #{issue['number']}: {issue.get('html_url')}")
    return {"issueUrl": issue.get("html_url"), "issueNumber": issue["number"]}


@runs(GitHubIssueComment)
def run_github_issue_comment(task: GitHubIssueComment, ctx: RunContext) -> dict[str, Any]:
    number = props.integer(ctx, task.issueNumber, "issueNumber")
    path = f"/repos/{_repo(ctx, task.repository)}/issues/{number}/comments"
    comment = _Api(task, ctx).call("POST", path, json={"body": props.text(ctx, task.body)})
    return {"commentUrl": comment.get("html_url")}


@runs(GitHubPullCreate)
def run_github_pull_create(task: GitHubPullCreate, ctx: RunContext) -> dict[str, Any]:
    repository = _repo(ctx, task.repository)
    body: dict[str, Any] = {
        "title": props.text(ctx, task.title),
        "head": props.text(ctx, task.sourceBranch),
        "base": props.text(ctx, task.targetBranch),
        "maintainer_can_modify": props.boolean(ctx, task.maintainerCanModify),
        "draft": props.boolean(ctx, task.draft),
    }
    if task.body is not None:
        body["body"] = props.text(ctx, task.body)
    api = _Api(task, ctx)
    pull = api.call("POST", f"/repos/{repository}/pulls", json=body)
    ctx.info(f"Opened pull request #{pull['number']}: {pull.get('html_url')}")
    reviewers = props.string_list(ctx, task.reviewers, "reviewers")
    if reviewers:
        request = {
            "reviewers": [r for r in reviewers if not r.startswith("team:")],
            "team_reviewers": [r.removeprefix("team:") for r in reviewers if r.startswith("team:")],
        }
        path = f"/repos/{repository}/pulls/{pull['number']}/requested_reviewers"
        api.call("POST", path, json={k: v for k, v in request.items() if v})
    return {"issueUrl": pull.get("issue_url"), "pullRequestUrl": pull.get("html_url")}


_QUALIFIERS = ("language", "created", "stars", "user", "topic")


def _repository_row(item: dict[str, Any]) -> dict[str, Any]:
    owner = item.get("owner") or {}
    return {
        "name": item.get("name"),
        "full_name": item.get("full_name"),
        "url": item.get("html_url"),
        "description": item.get("description"),
        "owner": owner.get("login"),
        "forks_count": item.get("forks_count"),
        "stars_count": item.get("stargazers_count"),
        "issues_count": item.get("open_issues_count"),
        "updated": item.get("updated_at"),
        "created": item.get("created_at"),
        "language": item.get("language"),
        "archived": item.get("archived"),
        "fork": item.get("fork"),
        "disabled": item.get("disabled"),
        "template": item.get("is_template"),
        "default_branch": item.get("default_branch"),
        "visibility": str(item.get("visibility") or "").upper() or None,
    }


@runs(GitHubRepositoriesSearch)
def run_github_repositories_search(
    task: GitHubRepositoriesSearch, ctx: RunContext
) -> dict[str, Any]:
    kind = fetch_type(ctx, task.fetchType)
    terms = [props.text(ctx, task.query)] if task.query else []
    for name in _QUALIFIERS:
        value = getattr(task, name)
        if value is not None:
            terms.append(f"{name}:{props.text(ctx, value)}")
    if task.repository is not None:
        terms.append(f"repo:{props.text(ctx, task.repository)}")
    if task.visibility is not None:
        terms.append(f"is:{task.visibility.lower()}")
    if not terms:
        raise TaskFailed("give a 'query' or at least one qualifier to search repositories")
    api = _Api(task, ctx)
    rows: list[dict[str, Any]] = []
    page, total = 1, 0
    while len(rows) < _MAX_RESULTS:
        params = {
            "q": " ".join(terms), "sort": task.sort.lower(), "order": task.order.lower(),
            "per_page": _PAGE, "page": page,
        }  # fmt: skip
        answer = api.call("GET", "/search/repositories", params=params)
        items = answer.get("items") or []
        total = int(answer.get("total_count") or 0)
        rows += [_repository_row(item) for item in items]
        if len(items) < _PAGE or len(rows) >= total:
            break
        page += 1
    outputs = fetched(ctx, kind, rows, "repositories.ion")
    outputs["total"] = total
    return outputs


@runs(GitHubRunWorkflow)
def run_github_run_workflow(task: GitHubRunWorkflow, ctx: RunContext) -> dict[str, Any]:
    workflow = urllib.parse.quote(props.text(ctx, task.workflowId), safe="")
    path = f"/repos/{_repo(ctx, task.repository)}/actions/workflows/{workflow}/dispatches"
    inputs = props.mapping(ctx, task.inputs, "inputs")
    body = {"ref": props.text(ctx, task.ref), "inputs": {k: str(v) for k, v in inputs.items()}}
    _Api(task, ctx).call("POST", path, json=body)
    ctx.info(f"Dispatched workflow {props.text(ctx, task.workflowId)} on {body['ref']}")
    return {}
