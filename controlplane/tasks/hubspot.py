"""HubSpot's CRM v3 API with ``requests``: objects created with their properties, searches
followed page by page. ``HUBSPOT_BASE_URL`` in the worker's environment moves the API (a proxy
or a test server)."""

from __future__ import annotations

import json
import os
from typing import Any

import requests

from controlplane.engine.runnable import RunContext, TaskFailed, runs
from controlplane.spec.plugins.hubspot import (
    HubSpotCompanySearch,
    HubSpotContactCreate,
    HubSpotContactSearch,
    HubSpotTicketCreate,
    _Create,
    _HubSpot,
    _Search,
)
from controlplane.tasks import props
from controlplane.tasks.ion import to_ion

API = "https://api.hubapi.com"


def _call(task: _HubSpot, ctx: RunContext, path: str, body: dict[str, Any]) -> Any:
    token = props.optional_text(ctx, task.apiKey) or props.optional_text(ctx, task.oauthToken)
    if not token:
        raise TaskFailed("HubSpot needs 'apiKey' or 'oauthToken'")
    base = os.environ.get("HUBSPOT_BASE_URL", API).rstrip("/")
    try:
        response = requests.post(
            base + path,
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=(30, 120),
        )
    except requests.RequestException as exc:
        raise TaskFailed(f"HubSpot could not be reached: {type(exc).__name__}") from None
    if response.status_code >= 400:
        try:
            error = response.json()
            details = [e.get("message") for e in error.get("errors") or [] if e.get("message")]
            message = "; ".join(details) or error.get("message")
        except (ValueError, AttributeError):
            message = response.text[:300]
        raise TaskFailed(f"HubSpot API error {response.status_code}: {message}")
    return response.json()


def _store(ctx: RunContext, rows: list[Any]) -> str:
    return ctx.put_file("hubspot.ion", "".join(to_ion(r) + "\n" for r in rows).encode())


def _create(task: _Create, ctx: RunContext, path: str, properties: dict[str, Any]) -> Any:
    properties = {k: v for k, v in properties.items() if v is not None}
    properties.update(props.mapping(ctx, task.additionalProperties, "additionalProperties"))
    answer = _call(task, ctx, path, {"properties": properties})
    return {"id": int(answer["id"]), "uri": _store(ctx, [answer.get("properties") or {}])}


@runs(HubSpotTicketCreate)
def run_hubspot_ticket_create(task: HubSpotTicketCreate, ctx: RunContext) -> dict[str, Any]:
    properties = {
        "subject": props.optional_text(ctx, task.subject),
        "content": props.optional_text(ctx, task.content),
        "hs_pipeline_stage": props.integer(ctx, task.stage, "stage"),
        "hs_pipeline": (
            props.integer(ctx, task.pipeline, "pipeline") if task.pipeline is not None else None
        ),
        "hs_ticket_priority": task.priority,
    }
    return dict(_create(task, ctx, "/crm/v3/objects/tickets", properties))


@runs(HubSpotContactCreate)
def run_hubspot_contact_create(task: HubSpotContactCreate, ctx: RunContext) -> dict[str, Any]:
    properties = {
        "email": props.text(ctx, task.email),
        "firstname": props.optional_text(ctx, task.firstName),
        "lastname": props.optional_text(ctx, task.lastName),
        "phone": props.optional_text(ctx, task.phone),
        "jobtitle": props.optional_text(ctx, task.jobTitle),
        "lifecyclestage": props.optional_text(ctx, task.lifecycleStage),
    }
    return dict(_create(task, ctx, "/crm/v3/objects/contacts", properties))


def _maps(ctx: RunContext, value: Any, name: str) -> list[Any]:
    rendered = ctx.render_typed(value) if isinstance(value, str) else ctx.render(value)
    rendered = json.loads(rendered) if isinstance(rendered, str) else rendered
    if not isinstance(rendered, list):
        raise TaskFailed(f"'{name}' must be a list")
    return rendered


def _search(task: _Search, ctx: RunContext, objects: str) -> dict[str, Any]:
    body: dict[str, Any] = {"limit": props.integer(ctx, task.limit, "limit")}
    if task.query is not None:
        body["query"] = props.text(ctx, task.query)
    if task.filterGroups is not None:
        body["filterGroups"] = _maps(ctx, task.filterGroups, "filterGroups")
    if task.properties is not None:
        body["properties"] = props.string_list(ctx, task.properties, "properties")
    if task.sorts is not None:
        body["sorts"] = _maps(ctx, task.sorts, "sorts")
    if task.after is not None:
        body["after"] = props.text(ctx, task.after)
    path = f"/crm/v3/objects/{objects}/search"
    rows: list[Any] = []
    while True:
        answer = _call(task, ctx, path, body)
        rows += [result.get("properties") or {} for result in answer.get("results") or []]
        following = ((answer.get("paging") or {}).get("next") or {}).get("after")
        if not following or not props.boolean(ctx, task.fetchAllPages):
            break
        body["after"] = following
    ctx.info(f"Retrieved {len(rows)} records")
    return {"total": len(rows), "uri": _store(ctx, rows)}


@runs(HubSpotContactSearch)
def run_hubspot_contact_search(task: HubSpotContactSearch, ctx: RunContext) -> dict[str, Any]:
    return _search(task, ctx, "contacts")


@runs(HubSpotCompanySearch)
def run_hubspot_company_search(task: HubSpotCompanySearch, ctx: RunContext) -> dict[str, Any]:
    return _search(task, ctx, "companies")
