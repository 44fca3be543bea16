"""Cloudflare's API v4: cache purge, DNS records, zones and IP access rules.

Every answer is Cloudflare's envelope ``{"success", "errors": [{"code", "message"}],
"messages", "result"}``; an error status or ``success: false`` fails the task with the
envelope's errors. Requests carry ``apiToken`` as a bearer token.

- ``cache.Purge``: ``POST /zones/{zone}/purge_cache`` with ``purge_everything``, else ``files``,
  else ``tags``.
- ``dns.records.Upsert``: ``GET /zones/{zone}/dns_records?name=&type=``, then ``PATCH`` the
  first record found or ``POST`` a new one.
- ``dns.records.Batch``: ``POST /zones/{zone}/dns_records/batch``.
- ``zones.List``: ``GET /zones``, every page (Kestra's plugin keeps the first page only).
- ``waf.accessrules.Create`` / ``Delete``: ``/zones/{zone}`` or ``/accounts/{account}`` +
  ``/firewall/access_rules/rules``.
"""

from __future__ import annotations

from typing import Any

from controlplane.engine.runnable import RunContext, TaskFailed, runs
from controlplane.spec.plugins.cloudflare import (
    CloudflareAccessRuleCreate,
    CloudflareAccessRuleDelete,
    CloudflareDnsBatch,
    CloudflareDnsUpsert,
    CloudflarePurge,
    CloudflareZonesList,
    _AccessRule,
    _Cloudflare,
)
from controlplane.tasks import props
from controlplane.tasks.remote import RemoteApi, required, segment, timeouts

_PAGE_SIZE = 50


def _api(task: _Cloudflare, ctx: RunContext) -> RemoteApi:
    token = required(ctx, task.apiToken, "apiToken")
    return RemoteApi(
        ctx,
        "Cloudflare",
        required(ctx, task.baseUrl, "baseUrl"),
        headers={"Authorization": f"Bearer {token}"},
        secrets=[token],
        timeout=timeouts(ctx, task.options, 30.0),
        error_text=_error_text,
    )


def _error_text(body: Any) -> str | None:
    """The envelope's ``errors`` as ``code: message``, joined."""
    if not isinstance(body, dict):
        return None
    errors = [e for e in body.get("errors") or [] if isinstance(e, dict)]
    texts = [f"{e.get('code')}: {e.get('message')}" if e.get("code") else str(e.get("message"))
             for e in errors]  # fmt: skip
    return "; ".join(texts) or None


def _call(api: RemoteApi, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    """The envelope of a successful call (``success: false`` fails the task)."""
    envelope = api.json(method, path, **kwargs)
    if not isinstance(envelope, dict) or envelope.get("success") is not True:
        detail = _error_text(envelope) or "no error given"
        raise api.fail(f"Cloudflare refused {method} {path}: {detail}")
    return envelope


def _zone(ctx: RunContext, value: str) -> str:
    return "/zones/" + segment(required(ctx, value, "zoneId"))


@runs(CloudflarePurge)
def run_purge(task: CloudflarePurge, ctx: RunContext) -> dict[str, Any]:
    zone = required(ctx, task.zoneId, "zoneId")
    files = props.string_list(ctx, task.files, "files")
    tags = props.string_list(ctx, task.tags, "tags")
    body: dict[str, Any]
    if props.boolean(ctx, task.purgeAll):
        body, what = {"purge_everything": True}, "entire cache"
    elif files:
        body, what = {"files": files}, f"{len(files)} file(s)"
    elif tags:
        body, what = {"tags": tags}, f"{len(tags)} tag(s)"
    else:
        raise TaskFailed(
            "Nothing to purge: give 'purgeAll: true', a non-empty 'files' or a non-empty 'tags'"
        )
    with _api(task, ctx) as api:
        api.info(f"Purging {what} of zone '{zone}'")
        result = _call(api, "POST", _zone(ctx, zone) + "/purge_cache", body=body).get("result")
    if not isinstance(result, dict):
        raise TaskFailed("Cloudflare answered the cache purge without a result")
    return {"requestId": result.get("id")}


@runs(CloudflareDnsUpsert)
def run_dns_upsert(task: CloudflareDnsUpsert, ctx: RunContext) -> dict[str, Any]:
    records = _zone(ctx, task.zoneId) + "/dns_records"
    body = {
        "type": required(ctx, task.recordType, "recordType").upper(),
        "name": required(ctx, task.name, "name"),
        "content": required(ctx, task.content, "content"),
        "ttl": props.integer(ctx, task.ttl, "ttl"),
        "proxied": props.boolean(ctx, task.proxied),
    }
    with _api(task, ctx) as api:
        query = {"name": body["name"], "type": body["type"]}
        found = _call(api, "GET", records, params=query).get("result") or []
        if found:
            record_id = found[0]["id"]
            api.info(f"{body['type']} record {body['name']} exists (id={record_id}), updating it")
            answer = _call(api, "PATCH", f"{records}/{segment(record_id)}", body=body)
            action = "updated"
        else:
            api.info(f"{body['type']} record {body['name']} does not exist, creating it")
            answer = _call(api, "POST", records, body=body)
            action = "created"
    record = answer.get("result") or {}
    return {
        "recordId": record.get("id"),
        "name": record.get("name"),
        "type": record.get("type"),
        "content": record.get("content"),
        "ttl": record.get("ttl"),
        "proxied": record.get("proxied"),
        "action": action,
    }


@runs(CloudflareDnsBatch)
def run_dns_batch(task: CloudflareDnsBatch, ctx: RunContext) -> dict[str, Any]:
    zone = required(ctx, task.zoneId, "zoneId")
    body = {
        key: items
        for key, value in (
            ("posts", task.posts),
            ("patches", task.patches),
            ("deletes", task.deletes),
        )
        if (items := props.map_list(ctx, value, key))
    }
    if not body:
        raise TaskFailed("Give at least one record in 'posts', 'patches' or 'deletes'")
    with _api(task, ctx) as api:
        counts = ", ".join(f"{len(items)} {key}" for key, items in body.items())
        api.info(f"Batch DNS change of zone '{zone}': {counts}")
        _call(api, "POST", _zone(ctx, zone) + "/dns_records/batch", body=body)
    return {"success": True}


@runs(CloudflareZonesList)
def run_zones_list(task: CloudflareZonesList, ctx: RunContext) -> dict[str, Any]:
    zones: list[dict[str, Any]] = []
    with _api(task, ctx) as api:
        page = 1
        while True:
            params = {"page": str(page), "per_page": str(_PAGE_SIZE)}
            envelope = _call(api, "GET", "/zones", params=params)
            zones += [
                {"id": z.get("id"), "name": z.get("name"), "status": z.get("status")}
                for z in envelope.get("result") or []
            ]
            pages = (envelope.get("result_info") or {}).get("total_pages") or 1
            if page >= pages:
                break
            page += 1
        api.info(f"Listed {len(zones)} Cloudflare zone(s)")
    return {"zones": zones}


def _scope(task: _AccessRule, ctx: RunContext) -> str:
    zone = props.optional_text(ctx, task.zoneId)
    account = props.optional_text(ctx, task.accountId)
    if bool(zone) == bool(account):
        raise TaskFailed("Give either 'zoneId' or 'accountId' (not both)")
    scope = f"/zones/{segment(zone)}" if zone else f"/accounts/{segment(account or '')}"
    return scope + "/firewall/access_rules/rules"


@runs(CloudflareAccessRuleCreate)
def run_access_rule_create(task: CloudflareAccessRuleCreate, ctx: RunContext) -> dict[str, Any]:
    path = _scope(task, ctx)
    body: dict[str, Any] = {
        "mode": required(ctx, task.mode, "mode").lower(),
        "configuration": {
            "target": required(ctx, task.target, "target").lower(),
            "value": required(ctx, task.value, "value"),
        },
    }
    notes = props.optional_text(ctx, task.notes)
    if notes and notes.strip():
        body["notes"] = notes
    with _api(task, ctx) as api:
        rule = _call(api, "POST", path, body=body).get("result") or {}
        api.info(f"Access rule {rule.get('id')} created ({body['mode']})")
    configuration = rule.get("configuration") or {}
    return {
        "ruleId": rule.get("id"),
        "mode": rule.get("mode"),
        "target": configuration.get("target"),
        "value": configuration.get("value"),
    }


@runs(CloudflareAccessRuleDelete)
def run_access_rule_delete(task: CloudflareAccessRuleDelete, ctx: RunContext) -> dict[str, Any]:
    rule_id = required(ctx, task.ruleId, "ruleId")
    path = f"{_scope(task, ctx)}/{segment(rule_id)}"
    with _api(task, ctx) as api:
        _call(api, "DELETE", path)
        api.info(f"Access rule {rule_id} deleted")
    return {"ruleId": rule_id, "deleted": True}
