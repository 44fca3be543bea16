"""``odoo.Query`` over Odoo's external API: ``authenticate`` on ``{url}/xmlrpc/2/common`` for the
user's id, then ``execute_kw`` on ``{url}/xmlrpc/2/object`` with the model's method
(``search_read``, ``read``, ``create``, ``write``, ``unlink``, ``search``, ``search_count``)."""

from __future__ import annotations

import json
import xmlrpc.client
from typing import Any

from controlplane.engine.runnable import RunContext, TaskFailed, runs
from controlplane.spec.plugins.odoo import OdooQuery
from controlplane.tasks import props
from controlplane.tasks.fetched import fetch_type, fetched

_METHODS = {
    "SEARCH_READ": "search_read", "READ": "read", "CREATE": "create", "WRITE": "write",
    "UNLINK": "unlink", "SEARCH": "search", "SEARCH_COUNT": "search_count",
}  # fmt: skip


class _Odoo:
    def __init__(self, task: OdooQuery, ctx: RunContext) -> None:
        self.url = props.text(ctx, task.url).rstrip("/")
        self.db = props.text(ctx, task.db)
        self.password = props.text(ctx, task.password)
        username = props.text(ctx, task.username)
        common = xmlrpc.client.ServerProxy(f"{self.url}/xmlrpc/2/common", allow_none=True)
        uid = self._call("authenticate", common.authenticate, self.db, username, self.password, {})
        if not isinstance(uid, int) or isinstance(uid, bool):
            raise TaskFailed(f"Odoo at {self.url} refused the login of '{username}' on '{self.db}'")
        self.uid = uid
        self.object = xmlrpc.client.ServerProxy(f"{self.url}/xmlrpc/2/object", allow_none=True)

    def _call(self, what: str, method: Any, *args: Any) -> Any:
        try:
            return method(*args)
        except xmlrpc.client.Fault as fault:
            message = str(fault.faultString).strip().splitlines()
            raise TaskFailed(f"Odoo {what} failed: {message[-1] if message else fault}") from None
        except (OSError, xmlrpc.client.ProtocolError) as exc:
            raise TaskFailed(f"Odoo at {self.url} could not be reached: {exc}") from None

    def execute(self, model: str, method: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        call = self.object.execute_kw
        params: list[Any] = [self.db, self.uid, self.password, model, method, args]
        if kwargs:
            params.append(kwargs)
        return self._call(f"{model}.{method}", call, *params)


def _ids(ctx: RunContext, task: OdooQuery) -> list[int]:
    raw = ctx.render_typed(task.ids) if isinstance(task.ids, str) else ctx.render(task.ids or [])
    raw = json.loads(raw) if isinstance(raw, str) else raw
    try:
        return [int(str(value).strip()) for value in raw or []]
    except ValueError:
        raise TaskFailed(f"'ids' must be record ids (whole numbers), got {raw!r}") from None


def _domain(ctx: RunContext, task: OdooQuery) -> list[Any]:
    if task.filters is None:
        return []
    domain = ctx.render_typed(task.filters) if isinstance(task.filters, str) else task.filters
    domain = ctx.render(domain)
    domain = json.loads(domain) if isinstance(domain, str) else domain
    if not isinstance(domain, list):
        raise TaskFailed("'filters' must be an Odoo domain: a list of [field, operator, value]")
    return domain


@runs(OdooQuery)
def run_odoo_query(task: OdooQuery, ctx: RunContext) -> dict[str, Any]:
    operation = props.text(ctx, task.operation).upper()
    if operation not in _METHODS:
        raise TaskFailed(f"'operation' must be one of {', '.join(_METHODS)}")
    kind = fetch_type(ctx, task.fetchType)
    model = props.text(ctx, task.model)
    values = props.mapping(ctx, task.values, "values")
    paging = {
        name: props.integer(ctx, value, name)
        for name, value in (("limit", task.limit), ("offset", task.offset))
        if value is not None
    }
    fields = props.string_list(ctx, task.fields, "fields")
    odoo = _Odoo(task, ctx)
    method = _METHODS[operation]
    if operation in ("READ", "WRITE", "UNLINK"):
        ids = _ids(ctx, task)
        if not ids:
            raise TaskFailed(f"'ids' are required for {operation}")
    if operation in ("CREATE", "WRITE") and not values:
        raise TaskFailed(f"'values' are required for {operation}")
    if operation == "CREATE":
        created = odoo.execute(model, method, [values], {})
        ctx.info(f"Created {model} record {created}")
        return {"ids": [created], "size": 1}
    if operation in ("WRITE", "UNLINK"):
        odoo.execute(model, method, [ids, values] if operation == "WRITE" else [ids], {})
        return {"ids": ids, "size": len(ids)}
    if operation == "SEARCH_COUNT":
        count = odoo.execute(model, method, [_domain(ctx, task)], {})
        return {"size": int(count)}
    if operation == "READ":
        rows = odoo.execute(model, method, [ids], {"fields": fields} if fields else {})
    elif operation == "SEARCH":
        found = odoo.execute(model, method, [_domain(ctx, task)], paging)
        rows = [{"id": record_id} for record_id in found]
    else:
        kwargs = {**paging, **({"fields": fields} if fields else {})}
        rows = odoo.execute(model, method, [_domain(ctx, task)], kwargs)
    return fetched(ctx, kind, list(rows), "odoo.ion")
