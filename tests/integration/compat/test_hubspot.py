"""HubSpot tickets, contacts and company search against a local double of the CRM v3 API, on
the shape of kestra-io/blueprints' ``hubspot-ticket-on-failure`` and company search flows."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from controlplane.engine.model import State
from controlplane.tasks.ion_text import read_values
from tests.doubles import Received, Reply, ServiceDouble
from tests.integration.compat.conftest import Flows

TOKEN = "pat-na1-test-0123"


class CrmDouble(ServiceDouble):
    """Objects by type; ``/search`` matches ``query`` in a name and pages one result a time."""

    def __init__(self) -> None:
        super().__init__()
        self.objects: dict[str, list[dict[str, Any]]] = {
            "companies": [
                {"id": "1", "properties": {"name": "Kestra", "domain": "kestra.io"}},
                {"id": "2", "properties": {"name": "Kestrel Labs", "domain": "kestrel.dev"}},
                {"id": "3", "properties": {"name": "Acme", "domain": "acme.com"}},
            ]
        }

    def handle(self, request: Received) -> Reply:
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return Reply(
                401, {"status": "error", "message": "Authentication credentials not found"}
            )
        parts = request.path.split("/")  # /crm/v3/objects/{type}[/search]
        kind = parts[4]
        body = request.body
        if parts[-1] == "search":
            found = [
                o for o in self.objects.get(kind, [])
                if body.get("query", "").lower() in o["properties"]["name"].lower()
            ]  # fmt: skip
            start = int(body.get("after") or 0)
            page = found[start : start + 1]
            paging = {"next": {"after": str(start + 1)}} if start + 1 < len(found) else None
            return Reply(200, {"total": len(found), "results": page, "paging": paging})
        if "subject" in body["properties"] and not body["properties"].get("hs_pipeline_stage"):
            return Reply(400, {"message": "Property values were not valid", "errors": []})
        created = {"id": str(100 + len(self.objects.get(kind, []))), **body}
        self.objects.setdefault(kind, []).append(created)
        return Reply(201, created)


@pytest.fixture
def crm(monkeypatch: pytest.MonkeyPatch) -> Iterator[CrmDouble]:
    with CrmDouble() as double:
        monkeypatch.setenv("HUBSPOT_BASE_URL", double.url)
        yield double


def test_tickets_contacts_and_search(flows: Flows, crm: CrmDouble) -> None:
    final = flows.run(
        f"""
id: hubspot-crm
namespace: company.team
tasks:
  - id: create_ticket
    type: io.kestra.plugin.hubspot.tickets.Create
    subject: Workflow failed
    content: "{{{{ execution.id }}}} has failed"
    stage: 3
    priority: HIGH
  - id: contact
    type: io.kestra.plugin.hubspot.contacts.Create
    email: ada@example.com
    firstName: Ada
    additionalProperties:
      company: Kestra
  - id: companies
    type: io.kestra.plugin.hubspot.companies.Search
    query: kest
    properties: [name, domain]
    fetchAllPages: true
pluginDefaults:
  - type: io.kestra.plugin.hubspot
    values:
      apiKey: {TOKEN}
"""
    )
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    outputs = {r.task_id: r.outputs for r in final.task_runs}
    ticket = crm.objects["tickets"][0]["properties"]
    assert ticket == {
        "subject": "Workflow failed",
        "content": f"{final.id} has failed",
        "hs_pipeline_stage": 3,
        "hs_ticket_priority": "HIGH",
    }
    assert outputs["create_ticket"]["id"] == 100
    contact = crm.objects["contacts"][0]["properties"]
    assert contact == {"email": "ada@example.com", "firstname": "Ada", "company": "Kestra"}
    assert outputs["companies"]["total"] == 2
    with flows.store.files.open(outputs["companies"]["uri"]) as stream:
        names = [row["name"] for row in read_values(stream.read().decode())]
    assert names == ["Kestra", "Kestrel Labs"]
