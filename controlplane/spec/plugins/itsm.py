"""Build and ticketing services over their REST APIs: Jenkins (``jenkins.*``), Jira
(``jira.issues.*``), ServiceNow (``servicenow.*``), GitLab (``gitlab.issues.*``), Zendesk
(``zendesk.tickets.Create``) and Linear (``linear.issues.Create``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from controlplane.spec.fields import DynInt, DynMap, DynStrList, Text
from controlplane.spec.plugins.jdbc import FetchType
from controlplane.spec.registry import task
from controlplane.spec.tasks import TaskSpec

# -- Jenkins ------------------------------------------------------------------------------------


class _Jenkins(TaskSpec):
    serverUrl: Text
    username: Text | None = None
    apiToken: Text | None = None
    options: dict[str, Any] | None = None


@task("io.kestra.plugin.jenkins.JobBuild")
class JenkinsJobBuild(_Jenkins):
    """Queue a build of ``jobName`` (folders as ``folder/job``) with ``parameters``
    (``POST .../buildWithParameters``). Output ``status``: Jenkins' HTTP status (201 queued)."""

    jobName: Text
    parameters: DynMap | None = None


@task("io.kestra.plugin.jenkins.JobInfo")
class JenkinsJobInfo(_Jenkins):
    """Read build ``buildNumber`` of ``jobName`` (``.../{buildNumber}/api/json``), output
    ``info``."""

    jobName: Text
    buildNumber: DynInt


# -- Jira ---------------------------------------------------------------------------------------


class _Jira(TaskSpec):
    baseUrl: Text = Field(min_length=1)
    username: Text | None = None
    password: Text | None = None
    accessToken: Text | None = None
    payload: Text | None = None
    options: dict[str, Any] | None = None


@task("io.kestra.plugin.jira.issues.Create")
class JiraCreate(_Jira):
    """Create an issue in ``projectKey`` (labels get ``kestra-bot``), or send ``payload`` as
    the body of ``POST /rest/api/2/issue/``. Outputs ``key`` and ``id`` of the issue."""

    projectKey: Text = Field(min_length=1)
    summary: Text | None = None
    description: Text | None = None
    labels: DynStrList | None = None
    issueTypeId: Text | None = None


@task("io.kestra.plugin.jira.issues.CreateComment")
class JiraCreateComment(_Jira):
    issueIdOrKey: Text
    body: Text


@task("io.kestra.plugin.jira.issues.UpdateFields")
class JiraUpdateFields(_Jira):
    issueIdOrKey: Text
    fields: DynMap


# -- ServiceNow ---------------------------------------------------------------------------------


class _ServiceNow(TaskSpec):
    """``domain`` is the instance name (``https://{domain}.service-now.com``), or a whole base
    URL. With ``clientId`` and ``clientSecret`` an OAuth token is asked for first
    (``oauth_token.do``, password grant); without them requests use basic authentication."""

    domain: Text
    username: Text
    password: Text
    clientId: Text | None = None
    clientSecret: Text | None = None
    headers: DynMap | None = None
    options: dict[str, Any] | None = None


@task("io.kestra.plugin.servicenow.Get")
class ServiceNowGet(_ServiceNow):
    """Records of ``table`` (``query`` an encoded query, ``fields``, ``limit``, ``offset``).
    Outputs ``results`` (or ``uri`` with STORE), ``size`` and ``offset``."""

    table: Text
    query: Text | None = None
    limit: DynInt | None = None
    offset: DynInt | None = None
    fields: DynStrList | None = None
    fetchType: FetchType = "FETCH"


@task("io.kestra.plugin.servicenow.Post")
class ServiceNowPost(_ServiceNow):
    """Create a record of ``table`` from ``data``; output ``result`` (the record)."""

    table: Text
    data: DynMap


@task("io.kestra.plugin.servicenow.Update")
class ServiceNowUpdate(_ServiceNow):
    """Update record ``sysId`` of ``table`` with ``data``; output ``result``."""

    table: Text
    sysId: Text
    data: DynMap


@task("io.kestra.plugin.servicenow.Delete")
class ServiceNowDelete(_ServiceNow):
    """Delete record ``sysId`` of ``table``; output ``deleted``."""

    table: Text
    sysId: Text


# -- GitLab -------------------------------------------------------------------------------------


class _GitLab(TaskSpec):
    url: Text = "https://gitlab.com"
    token: Text
    projectId: Text
    apiPath: Text = "/api/v4/projects"


@task("io.kestra.plugin.gitlab.issues.Create")
class GitLabIssueCreate(_GitLab):
    """Open an issue in project ``projectId``. Outputs ``issueId``, ``webUrl``, ``statusCode``."""

    title: Text
    issueDescription: Text | None = None
    labels: DynStrList | None = None


@task("io.kestra.plugin.gitlab.issues.Search")
class GitLabIssueSearch(_GitLab):
    """Issues of project ``projectId`` matching ``search``, ``state`` and ``labels``. Outputs
    ``issues``, ``count``, ``statusCode``."""

    search: Text | None = None
    state: Text = "opened"
    labels: DynStrList | None = None


# -- Zendesk and Linear -------------------------------------------------------------------------


@task("io.kestra.plugin.zendesk.tickets.Create")
class ZendeskTicketCreate(TaskSpec):
    """Create a ticket (``POST {domain}/api/v2/tickets.json``); ``username`` with an API ``token``,
    or ``oauthToken``. Outputs ``id`` and ``url``."""

    domain: Text
    username: Text | None = None
    token: Text | None = None
    oauthToken: Text | None = None
    subject: Text | None = None
    description: Text | None = None
    priority: Literal["URGENT", "HIGH", "NORMAL", "LOW"] | None = None
    ticketType: Literal["PROBLEM", "INCIDENT", "QUESTION", "TASK"] | None = None
    assigneeId: DynInt | None = None
    tags: DynStrList | None = None


@task("io.kestra.plugin.linear.issues.Create")
class LinearIssueCreate(TaskSpec):
    """Create an issue in the team named ``team`` with the labels named ``labels`` (Linear's
    GraphQL API). Outputs ``issueId`` and ``isSuccess``."""

    token: Text
    team: Text
    title: Text
    description: Text | None = None
    labels: DynStrList | None = None
