"""GitHub's REST API (``io.kestra.plugin.github.*``): issues, pull requests, repository search
and workflow dispatch, authenticated by ``oauthToken`` (or ``jwtToken`` /
``appInstallationToken``) against ``endpoint`` (``https://api.github.com``, or a GitHub
Enterprise API URL)."""

from __future__ import annotations

from typing import Literal

from controlplane.spec.fields import DynBool, DynMap, DynStrList, Text
from controlplane.spec.plugins.jdbc import FetchType
from controlplane.spec.registry import task
from controlplane.spec.tasks import TaskSpec


class _GitHub(TaskSpec):
    login: Text | None = None
    oauthToken: Text | None = None
    jwtToken: Text | None = None
    appInstallationToken: Text | None = None
    endpoint: Text | None = None


@task("io.kestra.plugin.github.issues.Create")
class GitHubIssueCreate(_GitHub):
    """Open an issue in ``repository`` (``owner/name``). Outputs ``issueUrl`` and
    ``issueNumber``."""

    repository: Text
    title: Text
    body: Text | None = None
    labels: DynStrList | None = None
    assignees: DynStrList | None = None


@task("io.kestra.plugin.github.issues.Comment")
class GitHubIssueComment(_GitHub):
    """Comment on issue ``issueNumber`` of ``repository``. Outputs ``commentUrl``."""

    repository: Text
    issueNumber: Text | int
    body: Text


@task("io.kestra.plugin.github.pulls.Create")
class GitHubPullCreate(_GitHub):
    """Open a pull request of ``sourceBranch`` (``user:branch`` from a fork) into
    ``targetBranch`` of ``repository``, then ask ``reviewers`` (``team:<slug>`` for a team) for a
    review. Outputs ``issueUrl`` (its issue in the API) and ``pullRequestUrl`` (its page)."""

    repository: Text
    sourceBranch: Text
    targetBranch: Text
    title: Text
    body: Text | None = None
    maintainerCanModify: DynBool = False
    draft: DynBool = False
    reviewers: DynStrList | None = None


@task("io.kestra.plugin.github.repositories.Search")
class GitHubRepositoriesSearch(_GitHub):
    """Repositories matching ``query`` and the qualifiers (``language``, ``created``, ``stars``,
    ``user``, ``topic``, ``repository``, ``visibility``), as ``fetchType`` says (STORE by
    default). Each row: ``name``, ``full_name``, ``url``, ``description``, ``owner``,
    ``forks_count``, ``stars_count``, ``issues_count``, ``updated``, ``created``, ``language``,
    ``archived``, ``fork``, ``template``, ``default_branch``, ``visibility``."""

    repository: Text | None = None
    query: Text | None = None
    language: Text | None = None
    created: Text | None = None
    stars: Text | None = None
    user: Text | None = None
    topic: Text | None = None
    order: Literal["ASC", "DESC"] = "ASC"
    sort: Literal["UPDATED", "STARS", "FORKS"] = "UPDATED"
    visibility: Literal["PUBLIC", "PRIVATE", "INTERNAL"] | None = None
    fetchType: FetchType = "STORE"


@task("io.kestra.plugin.github.actions.RunWorkflow")
class GitHubRunWorkflow(_GitHub):
    """Dispatch workflow ``workflowId`` (its id or file name) of ``repository`` on ``ref``
    with ``inputs`` (``workflow_dispatch``)."""

    repository: Text
    workflowId: Text
    ref: Text
    inputs: DynMap | None = None
