"""Jenkins, Jira, ServiceNow and GitLab tasks, and a GraphQL request, against a local double of
each API, on the shape of kestra-io/blueprints' ``jenkins-event-driven-job``,
``create-jira-ticket-on-failure``, ``servicenow-incident-on-failure`` and GitLab incident
flows."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest

from controlplane.engine.model import State
from controlplane.spec.validate import validate_text
from tests.doubles import Received, Reply, ServiceDouble
from tests.integration.compat.conftest import Flows

JENKINS_TOKEN = "11d2f7c0a9b84e6f"
JIRA_TOKEN = "ATATT3xFfGF0-jira-token"
SNOW_PASSWORD = "snow-Passw0rd!"


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class Services(ServiceDouble):
    """Jenkins (``/job/.../buildWithParameters``, ``/job/.../{n}/api/json``), Jira
    (``/rest/api/2/issue/``) and ServiceNow (``/oauth_token.do``, ``/api/now/table/...``)."""

    def __init__(self) -> None:
        super().__init__()
        self.incidents: dict[str, dict[str, Any]] = {}
        self.gitlab: list[dict[str, Any]] = []
        self.linear: list[dict[str, Any]] = []

    def handle(self, request: Received) -> Reply:
        auth = request.headers.get("authorization")
        path = request.path
        if path.startswith("/job/"):
            if auth != _basic("ci", JENKINS_TOKEN):
                return Reply(401, b"<html>Unauthorized</html>")
            if path == "/job/deploy/job/web%20app/buildWithParameters":
                return Reply(201, headers={"Location": "http://jenkins/queue/item/7/"})
            if path == "/job/deploy/job/web%20app/42/api/json":
                return Reply(200, {"number": 42, "result": "SUCCESS", "building": False})
            return Reply(404, b"Not Found")
        if path == "/rest/api/2/issue/":
            if auth != _basic("bot@example.com", JIRA_TOKEN):
                return Reply(401, {"errorMessages": ["Client must be authenticated"], "errors": {}})
            if not request.body["fields"].get("summary"):
                return Reply(400, {"errorMessages": [], "errors": {"summary": "required"}})
            return Reply(201, {"id": "10001", "key": "OPS-1", "self": "http://jira/issue/10001"})
        if path == "/api/v4/projects/group%2Fshop/issues":
            if request.headers.get("private-token") != "glpat-test-token":
                return Reply(401, {"message": "401 Unauthorized"})
            if request.method == "POST":
                issue = {
                    "id": 501,
                    "iid": 3,
                    "web_url": "https://gitlab.example/i/3",
                    **request.body,
                }
                self.gitlab.append(issue)
                return Reply(201, issue)
            wanted = request.query.get("labels", [""])[0].split(",")
            return Reply(200, [i for i in self.gitlab if set(wanted) <= set(i["labels"])])
        if path == "/graphql":
            if "__typename" not in request.body["query"]:
                return Reply(200, {"errors": [{"message": "Cannot query field"}]})
            variables = request.body.get("variables") or {}
            return Reply(200, {"data": {"__typename": "Query", "echo": variables.get("id")}})
        if path == "/api/v2/tickets.json":
            if auth != _basic("ops@example.com/token", "zendesk-api-token"):
                return Reply(401, {"error": "Couldn't authenticate you"})
            ticket = {"id": 35436, **request.body["ticket"]}
            return Reply(201, {"ticket": ticket})
        if path == "/linear/graphql":
            if auth != "lin_api_test":
                return Reply(400, {"errors": [{"message": "Authentication required"}]})
            query = request.body["query"]
            if query.startswith("query { teams"):
                teams = [{"id": "t1", "name": "Platform"}, {"id": "t2", "name": "Data"}]
                return Reply(200, {"data": {"teams": {"nodes": teams}}})
            if query.startswith("query { issueLabels"):
                labels = [{"id": "l1", "name": "Bug"}, {"id": "l2", "name": "Feature"}]
                return Reply(200, {"data": {"issueLabels": {"nodes": labels}}})
            self.linear.append(request.body["variables"]["input"])
            created = {"success": True, "issue": {"id": "ISSUE-1"}}
            return Reply(200, {"data": {"issueCreate": created}})
        if path == "/oauth_token.do":
            return Reply(200, {"access_token": "snow-access-token", "token_type": "Bearer"})
        if path.startswith("/api/now/table/incident"):
            if auth != "Bearer snow-access-token":
                return Reply(401, {"error": {"message": "User Not Authenticated"}})
            return self._incident(request)
        return Reply(404, {})

    def _incident(self, request: Received) -> Reply:
        parts = request.path.split("/")
        if request.method == "POST":
            sys_id = f"sys{len(self.incidents) + 1}"
            self.incidents[sys_id] = {"sys_id": sys_id, "state": "1", **request.body}
            return Reply(201, {"result": self.incidents[sys_id]})
        if request.method == "PUT":
            self.incidents[parts[-1]].update(request.body)
            return Reply(200, {"result": self.incidents[parts[-1]]})
        query = request.query.get("sysparm_query", [""])[0]
        found = [i for i in self.incidents.values() if query == f"state={i['state']}"]
        return Reply(200, {"result": found})


@pytest.fixture
def services(flows: Flows) -> Iterator[Services]:
    with Services() as double:
        with flows.store.unit() as repos:
            for name, value in (
                ("JENKINS_API_TOKEN", JENKINS_TOKEN),
                ("JIRA_API_TOKEN", JIRA_TOKEN),
                ("SNOW_PASSWORD", SNOW_PASSWORD),
            ):
                repos.secrets.update_secret("company.team", name, value)
        yield double


def test_jenkins_jira_and_servicenow_calls(flows: Flows, services: Services) -> None:
    url = services.url
    final = flows.run(
        f"""
id: incident-response
namespace: company.team
tasks:
  - id: trigger_build
    type: io.kestra.plugin.jenkins.JobBuild
    serverUrl: {url}
    jobName: deploy/web app
    username: ci
    apiToken: "{{{{ secret('JENKINS_API_TOKEN') }}}}"
    parameters:
      branch: main
      triggered_by: kestra
  - id: build_info
    type: io.kestra.plugin.jenkins.JobInfo
    serverUrl: {url}/
    jobName: deploy/web app
    buildNumber: 42
    username: ci
    apiToken: "{{{{ secret('JENKINS_API_TOKEN') }}}}"
  - id: ticket
    type: io.kestra.plugin.jira.issues.Create
    baseUrl: {url}
    username: bot@example.com
    password: "{{{{ secret('JIRA_API_TOKEN') }}}}"
    projectKey: OPS
    summary: Kestra Workflow Failed
    description: "{{{{ execution.id }}}} has failed"
    labels: [bug, workflow]
  - id: incident
    type: io.kestra.plugin.servicenow.Post
    table: incident
    data:
      short_description: "Build {{{{ outputs.build_info.info.number }}}} needs attention"
      urgency: "2"
  - id: resolve
    type: io.kestra.plugin.servicenow.Update
    table: incident
    sysId: "{{{{ outputs.incident.result.sys_id }}}}"
    data:
      state: "6"
  - id: resolved
    type: io.kestra.plugin.servicenow.Get
    table: incident
    query: state=6
    fetchType: FETCH_ONE
pluginDefaults:
  - type: io.kestra.plugin.servicenow
    values:
      domain: {url}
      username: admin
      password: "{{{{ secret('SNOW_PASSWORD') }}}}"
      clientId: kestra
      clientSecret: client-secret
"""
    )
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    outputs = {r.task_id: r.outputs for r in final.task_runs}
    assert outputs["trigger_build"] == {"status": 201}
    (build,) = services.requests_to("POST", "/job/deploy/job/web%20app/buildWithParameters")
    assert build.body == "branch=main&triggered_by=kestra"
    assert outputs["build_info"]["info"]["result"] == "SUCCESS"
    assert outputs["ticket"] == {"key": "OPS-1", "id": "10001"}
    (issue,) = services.requests_to("POST", "/rest/api/2/issue/")
    assert issue.body["fields"]["labels"] == ["kestra-bot", "bug", "workflow"]
    assert issue.body["fields"]["project"] == {"key": "OPS"}
    tokens = services.requests_to("POST", "/oauth_token.do")
    assert len(tokens) == 3  # one per ServiceNow task
    assert all("grant_type=password" in t.body and "client_id=kestra" in t.body for t in tokens)
    assert outputs["incident"]["result"]["short_description"] == "Build 42 needs attention"
    assert outputs["resolve"]["result"]["state"] == "6"
    assert outputs["resolved"]["size"] == 1
    assert outputs["resolved"]["results"][0]["sys_id"] == "sys1"
    logs = "\n".join(flows.logs(final))
    assert "Jira created issue OPS-1" in logs
    for secret in (JENKINS_TOKEN, JIRA_TOKEN, SNOW_PASSWORD):
        assert secret not in logs


def test_a_refused_jira_request_names_the_error(flows: Flows, services: Services) -> None:
    final = flows.run(
        f"""
id: jira-refused
namespace: company.team
tasks:
  - id: ticket
    type: io.kestra.plugin.jira.issues.Create
    baseUrl: {services.url}
    username: bot@example.com
    password: "{{{{ secret('JIRA_API_TOKEN') }}}}"
    projectKey: OPS
"""
    )
    assert final.state is State.FAILED
    assert "Jira answered 400: summary: required" in flows.logs(final, "ERROR")


def test_gitlab_issues_and_a_graphql_query(flows: Flows, services: Services) -> None:
    url = services.url
    final = flows.run(
        f"""
id: gitlab-incident
namespace: company.team
tasks:
  - id: open_issue
    type: io.kestra.plugin.gitlab.issues.Create
    url: {url}
    token: glpat-test-token
    projectId: group/shop
    title: "[Incident] checkout failed"
    issueDescription: "Execution {{{{ execution.id }}}}"
    labels: [incident, checkout]
  - id: open_incidents
    type: io.kestra.plugin.gitlab.issues.Search
    url: {url}
    token: glpat-test-token
    projectId: group/shop
    labels: [incident]
  - id: query
    type: io.kestra.plugin.graphql.Request
    uri: {url}/graphql
    query: "query Echo($id: ID) {{ __typename }}"
    variables:
      id: "{{{{ outputs.open_issue.issueId }}}}"
  - id: broken
    type: io.kestra.plugin.graphql.Request
    uri: {url}/graphql
    query: "{{ nope }}"
    failOnGraphQLErrors: true
"""
    )
    assert final.state is State.FAILED
    outputs = {r.task_id: r.outputs for r in final.task_runs}
    assert outputs["open_issue"] == {
        "issueId": "501",
        "webUrl": "https://gitlab.example/i/3",
        "statusCode": 201,
    }
    assert services.gitlab[0]["description"] == f"Execution {final.id}"
    assert outputs["open_incidents"]["count"] == 1
    assert outputs["query"]["body"] == {"__typename": "Query", "echo": "501"}
    assert outputs["query"]["code"] == 200 and outputs["query"]["error"] is None
    assert any("GraphQL query failed with errors" in line for line in flows.logs(final, "ERROR"))


def test_an_encrypted_graphql_body_is_refused_at_validation() -> None:
    result = validate_text(
        "id: f\nnamespace: company.team\ntasks:\n  - id: q\n"
        "    type: io.kestra.plugin.graphql.Request\n    uri: http://127.0.0.1/graphql\n"
        "    query: '{ viewer { login } }'\n    encryptBody: true\n"
    )
    assert not result.ok
    assert any("encryptBody is not supported by Weir" in str(p) for p in result.problems)


def test_zendesk_and_linear_tickets(
    flows: Flows, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LINEAR_API_URL", services.url + "/linear/graphql")
    final = flows.run(
        f"""
id: tickets-on-failure
namespace: company.team
tasks:
  - id: create_zendesk_ticket
    type: io.kestra.plugin.zendesk.tickets.Create
    domain: {services.url}/
    username: ops@example.com
    token: zendesk-api-token
    subject: Workflow failed
    description: "{{{{ execution.id }}}} has failed"
    priority: NORMAL
    ticketType: INCIDENT
    assigneeId: 1
    tags: [bug, workflow]
  - id: linear
    type: io.kestra.plugin.linear.issues.Create
    token: lin_api_test
    team: data
    title: Workflow failed
    description: "{{{{ execution.id }}}} has failed"
    labels: [Bug, Workflow]
"""
    )
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    outputs = {r.task_id: r.outputs for r in final.task_runs}
    assert outputs["create_zendesk_ticket"] == {
        "id": 35436,
        "url": f"{services.url}/api/v2/tickets/35436.json",
    }
    (ticket,) = services.requests_to("POST", "/api/v2/tickets.json")
    assert ticket.body["ticket"] == {
        "subject": "Workflow failed",
        "description": f"{final.id} has failed",
        "priority": "normal",
        "type": "incident",
        "tags": ["bug", "workflow"],
        "assignee_id": 1,
    }
    assert outputs["linear"] == {"issueId": "ISSUE-1", "isSuccess": True}
    assert services.linear == [
        {
            "teamId": "t2",
            "title": "Workflow failed",
            "description": f"{final.id} has failed",
            "labelIds": ["l1"],
        }
    ]
