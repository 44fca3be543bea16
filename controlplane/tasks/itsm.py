"""Jenkins, Jira, ServiceNow, GitLab, Zendesk and Linear over their APIs with ``requests``.

Every call fails the task on an answer that is not a 2xx, naming the service, the status and the
service's own error message; credentials travel in headers and are never part of a message.
"""

from __future__ import annotations

import json
import os
import urllib.parse
from typing import Any

import requests

from controlplane.engine.runnable import RunContext, TaskFailed, runs
from controlplane.spec.plugins.itsm import (
    GitLabIssueCreate,
    GitLabIssueSearch,
    JenkinsJobBuild,
    JenkinsJobInfo,
    JiraCreate,
    JiraCreateComment,
    JiraUpdateFields,
    LinearIssueCreate,
    ServiceNowDelete,
    ServiceNowGet,
    ServiceNowPost,
    ServiceNowUpdate,
    ZendeskTicketCreate,
    _GitLab,
    _Jenkins,
    _Jira,
    _ServiceNow,
)
from controlplane.tasks import props
from controlplane.tasks.fetched import fetch_type, fetched

_TIMEOUT = (30, 120)


def _call(service: str, method: str, url: str, **kwargs: Any) -> requests.Response:
    host = urllib.parse.urlsplit(url).netloc or url
    try:
        response = requests.request(method, url, timeout=_TIMEOUT, **kwargs)
    except requests.RequestException as exc:
        raise TaskFailed(
            f"{service} at {host} could not be reached: {type(exc).__name__}"
        ) from None
    if response.status_code >= 400:
        raise TaskFailed(f"{service} answered {response.status_code}: {_error(response)}")
    return response


def _error(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:300] or response.reason
    if isinstance(body, dict):
        messages = body.get("errorMessages") or []
        found = body.get("errors")
        errors: dict[str, Any] = found if isinstance(found, dict) else {}
        error = body.get("error")
        if messages or errors:
            return "; ".join([*map(str, messages), *(f"{k}: {v}" for k, v in errors.items())])
        if isinstance(error, dict):
            return str(error.get("message") or error.get("detail") or error)
        if error or body.get("message"):
            return str(error or body.get("message"))
    return json.dumps(body)[:300]


# -- Jenkins ------------------------------------------------------------------------------------


def _jenkins_url(task: _Jenkins, ctx: RunContext, job: str) -> str:
    base = props.text(ctx, task.serverUrl).rstrip("/")
    path = "/".join(f"job/{urllib.parse.quote(part, safe='')}" for part in job.split("/"))
    return f"{base}/{path}"


def _jenkins_auth(task: _Jenkins, ctx: RunContext) -> tuple[str, str] | None:
    user = props.optional_text(ctx, task.username)
    return (user, props.optional_text(ctx, task.apiToken) or "") if user else None


@runs(JenkinsJobBuild)
def run_jenkins_job_build(task: JenkinsJobBuild, ctx: RunContext) -> dict[str, Any]:
    job = props.text(ctx, task.jobName)
    url = f"{_jenkins_url(task, ctx, job)}/buildWithParameters"
    parameters = {k: _form(v) for k, v in props.mapping(ctx, task.parameters, "parameters").items()}
    response = _call("Jenkins", "POST", url, data=parameters, auth=_jenkins_auth(task, ctx))
    queued = response.headers.get("Location")
    ctx.info(f"Jenkins queued a build of {job}" + (f" ({queued})" if queued else ""))
    return {"status": response.status_code}


def _form(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


@runs(JenkinsJobInfo)
def run_jenkins_job_info(task: JenkinsJobInfo, ctx: RunContext) -> dict[str, Any]:
    number = props.integer(ctx, task.buildNumber, "buildNumber")
    url = f"{_jenkins_url(task, ctx, props.text(ctx, task.jobName))}/{number}/api/json"
    response = _call("Jenkins", "GET", url, auth=_jenkins_auth(task, ctx))
    return {"info": response.json()}


# -- Jira ---------------------------------------------------------------------------------------


def _jira(task: _Jira, ctx: RunContext, method: str, route: str, body: Any) -> requests.Response:
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    user, password = (
        props.optional_text(ctx, task.username),
        props.optional_text(ctx, task.password),
    )
    token = props.optional_text(ctx, task.accessToken)
    auth = None
    if user and password is not None:
        auth = (user, password)
    elif token:
        headers["Authorization"] = f"Bearer {token}"
    else:
        raise TaskFailed("Jira needs 'username' and 'password' (an API token), or 'accessToken'")
    payload = props.optional_text(ctx, task.payload)
    data = payload if payload and payload.strip() else json.dumps(body)
    url = props.text(ctx, task.baseUrl).rstrip("/") + route
    return _call("Jira", method, url, data=data.encode(), headers=headers, auth=auth)


@runs(JiraCreate)
def run_jira_create(task: JiraCreate, ctx: RunContext) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "project": {"key": props.text(ctx, task.projectKey)},
        "summary": props.optional_text(ctx, task.summary) or "",
        "description": props.optional_text(ctx, task.description) or "",
        "labels": ["kestra-bot", *props.string_list(ctx, task.labels, "labels")],
    }
    if task.issueTypeId is not None:
        fields["issuetype"] = {"id": props.text(ctx, task.issueTypeId)}
    answer = _jira(task, ctx, "POST", "/rest/api/2/issue/", {"fields": fields}).json()
    ctx.info(f"Jira created issue {answer.get('key')}")
    return {"key": answer.get("key"), "id": answer.get("id")}


@runs(JiraCreateComment)
def run_jira_create_comment(task: JiraCreateComment, ctx: RunContext) -> dict[str, Any]:
    issue = urllib.parse.quote(props.text(ctx, task.issueIdOrKey), safe="")
    body = {"body": props.text(ctx, task.body)}
    answer = _jira(task, ctx, "POST", f"/rest/api/2/issue/{issue}/comment", body).json()
    return {"id": answer.get("id")}


@runs(JiraUpdateFields)
def run_jira_update_fields(task: JiraUpdateFields, ctx: RunContext) -> dict[str, Any]:
    issue = urllib.parse.quote(props.text(ctx, task.issueIdOrKey), safe="")
    body = {"fields": props.mapping(ctx, task.fields, "fields")}
    _jira(task, ctx, "PUT", f"/rest/api/2/issue/{issue}", body)
    return {}


# -- ServiceNow ---------------------------------------------------------------------------------


class _Instance:
    def __init__(self, task: _ServiceNow, ctx: RunContext) -> None:
        domain = props.text(ctx, task.domain).strip()
        self.base = (domain if "://" in domain else f"https://{domain}.service-now.com").rstrip("/")
        self.headers = {
            str(k): str(v) for k, v in props.mapping(ctx, task.headers, "headers").items()
        }
        self.headers.setdefault("Accept", "application/json")
        user, password = props.text(ctx, task.username), props.text(ctx, task.password)
        client_id = props.optional_text(ctx, task.clientId)
        self.auth: tuple[str, str] | None = (user, password)
        if client_id:
            form = {
                "grant_type": "password",
                "client_id": client_id,
                "client_secret": props.optional_text(ctx, task.clientSecret) or "",
                "username": user,
                "password": password,
            }
            answer = _call("ServiceNow", "POST", f"{self.base}/oauth_token.do", data=form).json()
            if not isinstance(answer, dict) or "access_token" not in answer:
                raise TaskFailed("ServiceNow's token answer has no access_token")
            self.headers["Authorization"] = f"Bearer {answer['access_token']}"
            self.auth = None

    def call(self, method: str, table: str, sys_id: str | None = None, **kwargs: Any) -> Any:
        path = f"/api/now/table/{urllib.parse.quote(table, safe='')}"
        if sys_id is not None:
            path += f"/{urllib.parse.quote(sys_id, safe='')}"
        return _call(
            "ServiceNow", method, self.base + path, headers=self.headers, auth=self.auth, **kwargs
        )


@runs(ServiceNowGet)
def run_servicenow_get(task: ServiceNowGet, ctx: RunContext) -> dict[str, Any]:
    kind = fetch_type(ctx, task.fetchType)
    params: dict[str, Any] = {}
    query = props.optional_text(ctx, task.query)
    if query:
        params["sysparm_query"] = query
    offset = props.integer(ctx, task.offset, "offset") if task.offset is not None else None
    if task.limit is not None:
        params["sysparm_limit"] = props.integer(ctx, task.limit, "limit")
    if offset is not None:
        params["sysparm_offset"] = offset
    fields = props.string_list(ctx, task.fields, "fields")
    if fields:
        params["sysparm_fields"] = ",".join(fields)
    instance = _Instance(task, ctx)
    results = instance.call("GET", props.text(ctx, task.table), params=params).json()
    records = results.get("result") or [] if isinstance(results, dict) else []
    outputs = fetched(ctx, kind, records, "servicenow.ion")
    if "rows" in outputs:
        outputs["results"] = outputs.pop("rows")
    if "row" in outputs:
        row = outputs.pop("row")
        outputs["results"] = [row] if row is not None else []
    outputs["offset"] = offset
    return outputs


@runs(ServiceNowPost)
def run_servicenow_post(task: ServiceNowPost, ctx: RunContext) -> dict[str, Any]:
    data = props.mapping(ctx, task.data, "data")
    answer = _Instance(task, ctx).call("POST", props.text(ctx, task.table), json=data).json()
    return {"result": answer.get("result")}


@runs(ServiceNowUpdate)
def run_servicenow_update(task: ServiceNowUpdate, ctx: RunContext) -> dict[str, Any]:
    data = props.mapping(ctx, task.data, "data")
    table, sys_id = props.text(ctx, task.table), props.text(ctx, task.sysId)
    answer = _Instance(task, ctx).call("PUT", table, sys_id, json=data).json()
    return {"result": answer.get("result")}


@runs(ServiceNowDelete)
def run_servicenow_delete(task: ServiceNowDelete, ctx: RunContext) -> dict[str, Any]:
    table, sys_id = props.text(ctx, task.table), props.text(ctx, task.sysId)
    response = _Instance(task, ctx).call("DELETE", table, sys_id)
    return {"deleted": response.status_code == 204}


# -- GitLab -------------------------------------------------------------------------------------


def _gitlab(task: _GitLab, ctx: RunContext, method: str, **kwargs: Any) -> requests.Response:
    base = props.text(ctx, task.url).rstrip("/")
    project = urllib.parse.quote(props.text(ctx, task.projectId), safe="")
    url = f"{base}{props.text(ctx, task.apiPath)}/{project}/issues"
    headers = {"PRIVATE-TOKEN": props.text(ctx, task.token)}
    return _call("GitLab", method, url, headers=headers, **kwargs)


@runs(GitLabIssueCreate)
def run_gitlab_issue_create(task: GitLabIssueCreate, ctx: RunContext) -> dict[str, Any]:
    body: dict[str, Any] = {"title": props.text(ctx, task.title)}
    if task.issueDescription is not None:
        body["description"] = props.text(ctx, task.issueDescription)
    if task.labels is not None:
        body["labels"] = props.string_list(ctx, task.labels, "labels")
    response = _gitlab(task, ctx, "POST", json=body)
    issue = response.json()
    ctx.info(f"GitLab opened issue {issue.get('iid', issue.get('id'))}: {issue.get('web_url')}")
    return {
        "issueId": str(issue.get("id")),
        "webUrl": str(issue.get("web_url")),
        "statusCode": response.status_code,
    }


@runs(GitLabIssueSearch)
def run_gitlab_issue_search(task: GitLabIssueSearch, ctx: RunContext) -> dict[str, Any]:
    params: dict[str, str] = {"state": props.text(ctx, task.state)}
    if task.search is not None:
        params["search"] = props.text(ctx, task.search)
    if task.labels is not None:
        params["labels"] = ",".join(props.string_list(ctx, task.labels, "labels"))
    response = _gitlab(task, ctx, "GET", params=params)
    issues = response.json()
    return {"issues": issues, "count": len(issues), "statusCode": response.status_code}


# -- Zendesk ------------------------------------------------------------------------------------


@runs(ZendeskTicketCreate)
def run_zendesk_ticket_create(task: ZendeskTicketCreate, ctx: RunContext) -> dict[str, Any]:
    domain = props.text(ctx, task.domain).strip().rstrip("/")
    base = domain if domain.startswith(("http://", "https://")) else f"https://{domain}"
    token, oauth = props.optional_text(ctx, task.token), props.optional_text(ctx, task.oauthToken)
    auth: tuple[str, str] | None = None
    headers: dict[str, str] = {}
    if token:
        auth = (f"{props.optional_text(ctx, task.username) or ''}/token", token)
    elif oauth:
        headers["Authorization"] = f"Bearer {oauth}"
    else:
        raise TaskFailed("Zendesk needs 'username' and 'token', or 'oauthToken'")
    ticket: dict[str, Any] = {
        "subject": props.optional_text(ctx, task.subject),
        "description": props.optional_text(ctx, task.description),
        "priority": task.priority.lower() if task.priority else None,
        "type": task.ticketType.lower() if task.ticketType else None,
        "tags": props.string_list(ctx, task.tags, "tags"),
    }
    if task.assigneeId is not None:
        ticket["assignee_id"] = props.integer(ctx, task.assigneeId, "assigneeId")
    body = {"ticket": {k: v for k, v in ticket.items() if v is not None}}
    url = f"{base}/api/v2/tickets.json"
    answer = _call("Zendesk", "POST", url, json=body, headers=headers, auth=auth).json()
    created = answer.get("ticket") or {}
    number = created.get("id")
    return {"id": number, "url": created.get("url") or f"{base}/api/v2/tickets/{number}.json"}


# -- Linear -------------------------------------------------------------------------------------

LINEAR_API = "https://api.linear.app/graphql"
_CREATE_ISSUE = (
    "mutation ($input: IssueCreateInput!) { issueCreate(input: $input) { success issue { id } } }"
)


def _linear(ctx: RunContext, token: str, query: str, variables: Any = None) -> Any:
    url = os.environ.get("LINEAR_API_URL", LINEAR_API)
    body: dict[str, Any] = {"query": query}
    if variables is not None:
        body["variables"] = variables
    answer = _call("Linear", "POST", url, json=body, headers={"Authorization": token}).json()
    if answer.get("errors"):
        raise TaskFailed(f"Linear refused the request: {answer['errors'][0].get('message')}")
    return answer.get("data") or {}


@runs(LinearIssueCreate)
def run_linear_issue_create(task: LinearIssueCreate, ctx: RunContext) -> dict[str, Any]:
    token = props.text(ctx, task.token)
    team = props.text(ctx, task.team)
    teams = _linear(ctx, token, "query { teams { nodes { id name } } }")["teams"]["nodes"]
    team_id = next((t["id"] for t in teams if t["name"].lower() == team.lower()), None)
    if team_id is None:
        raise TaskFailed(f"Linear has no team named '{team}'")
    wanted = props.string_list(ctx, task.labels, "labels")
    issue_input: dict[str, Any] = {
        "teamId": team_id,
        "title": props.text(ctx, task.title),
        "description": props.optional_text(ctx, task.description),
    }
    if wanted:
        labels = _linear(ctx, token, "query { issueLabels { nodes { id name } } }")
        issue_input["labelIds"] = [
            node["id"] for node in labels["issueLabels"]["nodes"] if node["name"] in wanted
        ]
    created = _linear(ctx, token, _CREATE_ISSUE, {"input": issue_input})["issueCreate"]
    issue = created.get("issue") or {}
    return {"issueId": issue.get("id"), "isSuccess": bool(created.get("success"))}
