"""odoo.Query against a local double of Odoo's external XML-RPC API (``/xmlrpc/2/common``
authenticate, ``/xmlrpc/2/object`` execute_kw over an in-memory model), on the shape of
kestra-io/blueprints' ``odoo-create-leads-from-webhook`` and ``odoo-daily-sales-digest`` flows:
look a lead up, update or create it, and read a day of sales orders into an Ion file."""

from __future__ import annotations

import operator
import threading
import xmlrpc.client
from collections.abc import Callable, Iterator
from typing import Any
from xmlrpc.server import SimpleXMLRPCRequestHandler, SimpleXMLRPCServer

import pytest

from controlplane.engine.model import State
from controlplane.tasks.ion_text import read_values
from tests.integration.compat.conftest import Flows

_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
    ">": operator.gt, ">=": operator.ge, "in": lambda a, b: a in b,
}  # fmt: skip


class OdooDouble:
    """One database ``prod``, user ``admin`` / ``s3cret`` (uid 2), records by model."""

    def __init__(self) -> None:
        self.records: dict[str, dict[int, dict[str, Any]]] = {}
        self.calls: list[tuple[str, str]] = []

        class Handler(SimpleXMLRPCRequestHandler):
            rpc_paths = ("/xmlrpc/2/common", "/xmlrpc/2/object")

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = SimpleXMLRPCServer(
            ("127.0.0.1", 0), Handler, allow_none=True, logRequests=False
        )
        self.server.register_function(self.authenticate, "authenticate")
        self.server.register_function(self.execute_kw, "execute_kw")
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def authenticate(self, db: str, login: str, password: str, env: dict[str, Any]) -> Any:
        return 2 if (db, login, password) == ("prod", "admin", "s3cret") else False

    def execute_kw(
        self,
        db: str,
        uid: int,
        password: str,
        model: str,
        method: str,
        args: list[Any],
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        if (db, uid, password) != ("prod", 2, "s3cret"):
            raise xmlrpc.client.Fault(3, "odoo.exceptions.AccessDenied: Access Denied")
        self.calls.append((model, method))
        table = self.records.setdefault(model, {})
        kwargs = kwargs or {}
        if method in ("search", "search_read", "search_count"):
            found = [r for r in table.values() if self._matches(r, args[0])]
            found = found[kwargs.get("offset", 0) :][: kwargs.get("limit") or None]
            if method == "search_count":
                return len(found)
            if method == "search":
                return [r["id"] for r in found]
            return [self._fields(r, kwargs.get("fields")) for r in found]
        if method == "read":
            return [self._fields(table[i], kwargs.get("fields")) for i in args[0]]
        if method == "create":
            new_id = max(table, default=0) + 1
            table[new_id] = {"id": new_id, **args[0]}
            return new_id
        if method == "write":
            for record_id in args[0]:
                table[record_id].update(args[1])
            return True
        if method == "unlink":
            for record_id in args[0]:
                del table[record_id]
            return True
        raise xmlrpc.client.Fault(2, f"ValueError: Invalid method {method!r} on model {model!r}")

    @staticmethod
    def _matches(record: dict[str, Any], domain: list[Any]) -> bool:
        return all(_OPERATORS[op](record.get(field), value) for field, op, value in domain)

    @staticmethod
    def _fields(record: dict[str, Any], fields: list[str] | None) -> dict[str, Any]:
        return {k: v for k, v in record.items() if not fields or k in fields or k == "id"}


@pytest.fixture
def odoo(flows: Flows) -> Iterator[OdooDouble]:
    double = OdooDouble()
    thread = threading.Thread(target=double.server.serve_forever, daemon=True)
    thread.start()
    with flows.store.unit() as repos:
        for name, value in (("ODOO_URL", double.url), ("ODOO_PASSWORD", "s3cret")):
            repos.secrets.update_secret("company.team", name, value)
    yield double
    double.server.shutdown()
    double.server.server_close()


DEFAULTS = """
pluginDefaults:
  - type: io.kestra.plugin.odoo.Query
    values:
      url: "{{ secret('ODOO_URL') }}"
      db: prod
      username: admin
      password: "{{ secret('ODOO_PASSWORD') }}"
"""

LEADS = (
    """
id: odoo-create-leads-from-webhook
namespace: company.team
inputs:
  - id: email
    type: STRING
  - id: name
    type: STRING
tasks:
  - id: find_existing
    type: io.kestra.plugin.odoo.Query
    model: crm.lead
    operation: SEARCH_READ
    filters:
      - ["email_from", "=", "{{ inputs.email }}"]
      - ["type", "=", "lead"]
    fields: [id, email_from]
    limit: 1
    fetchType: FETCH
  - id: upsert
    type: io.kestra.plugin.core.flow.If
    condition: "{{ outputs.find_existing.size > 0 }}"
    then:
      - id: update_lead
        type: io.kestra.plugin.odoo.Query
        model: crm.lead
        operation: WRITE
        ids:
          - "{{ outputs.find_existing.rows[0].id }}"
        values:
          contact_name: "{{ inputs.name }}"
    else:
      - id: create_lead
        type: io.kestra.plugin.odoo.Query
        model: crm.lead
        operation: CREATE
        values:
          name: "Website lead: {{ inputs.name }}"
          contact_name: "{{ inputs.name }}"
          email_from: "{{ inputs.email }}"
          type: lead
"""
    + DEFAULTS
)


def test_a_lead_is_created_then_updated(flows: Flows, odoo: OdooDouble) -> None:
    first = flows.run(LEADS, {"email": "ada@example.com", "name": "Ada"})
    assert first.state is State.SUCCESS, flows.logs(first, "ERROR")
    (created,) = [r for r in first.task_runs if r.task_id == "create_lead"]
    assert created.outputs == {"ids": [1], "size": 1}
    assert odoo.records["crm.lead"][1]["email_from"] == "ada@example.com"

    second = flows.run(LEADS, {"email": "ada@example.com", "name": "Ada Lovelace"})
    assert second.state is State.SUCCESS, flows.logs(second, "ERROR")
    (found,) = [r for r in second.task_runs if r.task_id == "find_existing"]
    assert found.outputs == {"rows": [{"id": 1, "email_from": "ada@example.com"}], "size": 1}
    (updated,) = [r for r in second.task_runs if r.task_id == "update_lead"]
    assert updated.outputs == {"ids": [1], "size": 1}
    assert odoo.records["crm.lead"] == {
        1: {
            "id": 1,
            "name": "Website lead: Ada",
            "contact_name": "Ada Lovelace",
            "email_from": "ada@example.com",
            "type": "lead",
        }
    }


def test_a_day_of_orders_is_stored_counted_and_deleted(flows: Flows, odoo: OdooDouble) -> None:
    odoo.records["sale.order"] = {
        i: {"id": i, "name": f"S{i:05d}", "state": state, "amount_total": total, "date_order": day}
        for i, (state, total, day) in enumerate(
            [
                ("sale", 120.5, "2026-12-06 09:00:00"),
                ("done", 80.0, "2026-12-06 17:30:00"),
                ("draft", 15.0, "2026-12-06 11:00:00"),
                ("sale", 99.0, "2026-12-05 10:00:00"),
            ],
            start=1,
        )
    }
    final = flows.run(
        """
id: odoo-daily-sales-digest
namespace: company.team
variables:
  window_date: "2026-12-06"
tasks:
  - id: query_orders
    type: io.kestra.plugin.odoo.Query
    model: sale.order
    operation: SEARCH_READ
    filters:
      - ["state", "in", ["sale", "done"]]
      - ["date_order", ">=", "{{ vars.window_date }} 00:00:00"]
      - ["date_order", "<=", "{{ vars.window_date }} 23:59:59"]
    fields: [name, amount_total, state]
    fetchType: STORE
  - id: drafts
    type: io.kestra.plugin.odoo.Query
    model: sale.order
    operation: SEARCH_COUNT
    filters: [["state", "=", "draft"]]
  - id: old
    type: io.kestra.plugin.odoo.Query
    model: sale.order
    operation: SEARCH
    filters: [["date_order", "<", "{{ vars.window_date }}"]]
    fetchType: FETCH_ONE
  - id: remove_old
    type: io.kestra.plugin.odoo.Query
    model: sale.order
    operation: UNLINK
    ids: ["{{ outputs.old.row.id }}"]
  - id: digest
    type: io.kestra.plugin.core.log.Log
    message: "{{ read(outputs.query_orders.uri) }}"
"""
        + DEFAULTS
    )
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    outputs = {r.task_id: r.outputs for r in final.task_runs}
    assert outputs["query_orders"]["size"] == 2
    assert outputs["drafts"] == {"size": 1}
    assert outputs["old"] == {"row": {"id": 4}, "size": 1}
    assert outputs["remove_old"] == {"ids": [4], "size": 1}
    assert sorted(odoo.records["sale.order"]) == [1, 2, 3]
    (logged,) = [line for line in flows.logs(final) if "S00001" in line]
    assert list(read_values(logged)) == [
        {"id": 1, "name": "S00001", "amount_total": 120.5, "state": "sale"},
        {"id": 2, "name": "S00002", "amount_total": 80.0, "state": "done"},
    ]


def test_a_refused_login_fails_without_showing_the_password(flows: Flows, odoo: OdooDouble) -> None:
    with flows.store.unit() as repos:
        repos.secrets.update_secret("company.team", "ODOO_PASSWORD", "wrong-password")
    final = flows.run(
        """
id: count
namespace: company.team
tasks:
  - id: leads
    type: io.kestra.plugin.odoo.Query
    model: crm.lead
    operation: SEARCH_COUNT
"""
        + DEFAULTS
    )
    assert final.state is State.FAILED
    assert "refused the login of 'admin' on 'prod'" in "\n".join(flows.logs(final, "ERROR"))
    assert "wrong-password" not in "\n".join(flows.logs(final))
    assert odoo.calls == []
