"""Cloudflare's API v4 (``https://api.cloudflare.com/client/v4``): zones, DNS records, cache
purges and IP access rules.

Every answer is the envelope ``{"success", "errors": [{"code", "message"}], "messages",
"result"}``, lists adding ``result_info`` (``page``, ``per_page``, ``count``, ``total_count``,
``total_pages``). ``GET /zones?page=&per_page=`` lists zones; ``POST /zones/{id}/purge_cache``
takes ``{"purge_everything": true}``, ``{"files": [...]}`` or ``{"tags": [...]}`` and answers
``{"id"}``; ``GET /zones/{id}/dns_records?name=&type=`` filters records, ``POST`` creates one,
``PATCH /zones/{id}/dns_records/{record}`` changes one, ``POST /zones/{id}/dns_records/batch``
applies ``deletes``, ``patches``, ``puts`` and ``posts`` in that order and answers the records
of each; ``POST /zones/{id}/firewall/access_rules/rules`` creates an access rule
(``mode``, ``configuration: {target, value}``, ``notes``) and ``DELETE .../rules/{rule}``
removes it. A token that is not the double's gets 403 (code 10000, "Authentication error"); an
unknown zone or record 400/404 (code 7003 / 81044); an A record whose content is not an IPv4
address 400 (code 9005).
"""

from __future__ import annotations

import hashlib
import ipaddress
import itertools
from typing import Any

from tests.doubles import Received, Reply, ServiceDouble


def _ok(result: Any, **extra: Any) -> Reply:
    return Reply(200, {"success": True, "errors": [], "messages": [], "result": result, **extra})


def _error(status: int, code: int, message: str) -> Reply:
    body = {"success": False, "errors": [{"code": code, "message": message}], "messages": []}
    return Reply(status, {**body, "result": None})


class CloudflareDouble(ServiceDouble):
    def __init__(self, *, token: str = "cf-token", zones: tuple[str, ...] = ("example.com",)):
        super().__init__()
        self.token = token
        self._ids = itertools.count(1)
        self.zones = {hashlib.md5(name.encode()).hexdigest(): name for name in zones}
        self.records: dict[str, list[dict[str, Any]]] = {zone: [] for zone in self.zones}
        self.purges: list[tuple[str, dict[str, Any]]] = []
        self.rules: dict[str, dict[str, Any]] = {}

    @property
    def base_url(self) -> str:
        return self.url + "/client/v4"

    def zone_id(self, name: str) -> str:
        return next(zone for zone, zone_name in self.zones.items() if zone_name == name)

    def handle(self, request: Received) -> Reply:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return _error(403, 10000, "Authentication error")
        parts = request.path.strip("/").split("/")
        if parts[:2] != ["client", "v4"] or len(parts) < 3 or parts[2] != "zones":
            return _error(404, 7000, "No route for that URI")
        if len(parts) == 3 and request.method == "GET":
            return self._zones(request.query)
        zone = parts[3] if len(parts) > 3 else ""
        if zone not in self.zones:
            return _error(400, 7003, f"Could not route to {request.path}, perhaps your object "
                                     "identifier is invalid?")  # fmt: skip
        rest, method, body = parts[4:], request.method, request.body or {}
        if rest == ["purge_cache"] and method == "POST":
            self.purges.append((zone, body))
            return _ok({"id": f"purge-{next(self._ids)}"})
        if rest == ["dns_records"] and method == "GET":
            return self._find(zone, request.query)
        if rest == ["dns_records"] and method == "POST":
            return self._create(zone, body)
        if rest == ["dns_records", "batch"] and method == "POST":
            return self._batch(zone, body)
        if len(rest) == 2 and rest[0] == "dns_records" and method == "PATCH":
            return self._patch(zone, rest[1], body)
        if rest[:3] == ["firewall", "access_rules", "rules"]:
            return self._rule(zone, method, rest[3:], body)
        return _error(404, 7000, "No route for that URI")

    def _zones(self, query: dict[str, list[str]]) -> Reply:
        page = int((query.get("page") or ["1"])[0])
        per_page = int((query.get("per_page") or ["20"])[0])
        zones = [{"id": zone, "name": name, "status": "active", "paused": False,
                  "type": "full", "name_servers": ["ada.ns.cloudflare.com"]}
                 for zone, name in self.zones.items()]  # fmt: skip
        shown = zones[(page - 1) * per_page : page * per_page]
        pages = max(1, -(-len(zones) // per_page))
        info = {"page": page, "per_page": per_page, "count": len(shown),
                "total_count": len(zones), "total_pages": pages}  # fmt: skip
        return _ok(shown, result_info=info)

    def _find(self, zone: str, query: dict[str, list[str]]) -> Reply:
        name, kind = (query.get("name") or [None])[0], (query.get("type") or [None])[0]
        found = [r for r in self.records[zone]
                 if (name is None or r["name"] == name) and (kind is None or r["type"] == kind)]  # fmt: skip
        return _ok(found, result_info={"page": 1, "count": len(found), "total_count": len(found)})

    def _invalid(self, record: dict[str, Any]) -> Reply | None:
        if record.get("type") == "A":
            try:
                ipaddress.IPv4Address(str(record.get("content")))
            except ValueError:
                return _error(400, 9005, "Content for A record must be a valid IPv4 address.")
        return None

    def _new(self, zone: str, body: dict[str, Any]) -> dict[str, Any]:
        record = {
            "id": f"{next(self._ids):032x}",
            "zone_id": zone,
            "zone_name": self.zones[zone],
            "name": body["name"],
            "type": body["type"],
            "content": body["content"],
            "proxiable": True,
            "proxied": bool(body.get("proxied", False)),
            "ttl": body.get("ttl", 1),
        }
        self.records[zone].append(record)
        return record

    def _create(self, zone: str, body: dict[str, Any]) -> Reply:
        return self._invalid(body) or _ok(self._new(zone, body))

    def _patch(self, zone: str, record_id: str, body: dict[str, Any]) -> Reply:
        record = next((r for r in self.records[zone] if r["id"] == record_id), None)
        if record is None:
            return _error(404, 81044, "Record does not exist.")
        changed = {**record, **body}
        invalid = self._invalid(changed)
        if invalid:
            return invalid
        record.update(body)
        return _ok(record)

    def _batch(self, zone: str, body: dict[str, Any]) -> Reply:
        records = self.records[zone]
        deleted = [
            r for r in records if r["id"] in {d.get("id") for d in body.get("deletes") or []}
        ]
        for record in body.get("posts") or []:
            invalid = self._invalid(record)
            if invalid:
                return invalid
        self.records[zone] = [r for r in records if r not in deleted]
        patched = []
        for change in body.get("patches") or []:
            record = next((r for r in self.records[zone] if r["id"] == change.get("id")), None)
            if record is None:
                return _error(404, 81044, "Record does not exist.")
            record.update(change)
            patched.append(record)
        posted = [self._new(zone, record) for record in body.get("posts") or []]
        return _ok({"deletes": deleted, "patches": patched, "puts": [], "posts": posted})

    def _rule(self, zone: str, method: str, rest: list[str], body: dict[str, Any]) -> Reply:
        if not rest and method == "POST":
            configuration = body.get("configuration") or {}
            if body.get("mode") not in ("block", "challenge", "whitelist", "js_challenge",
                                         "managed_challenge"):  # fmt: skip
                return _error(400, 10014, "firewallaccessrules.api.validation_error:invalid mode")
            rule = {"id": f"{next(self._ids):032x}", "mode": body["mode"],
                    "configuration": configuration, "notes": body.get("notes", ""),
                    "scope": {"id": zone, "type": "zone"}}  # fmt: skip
            self.rules[rule["id"]] = rule
            return _ok(rule)
        if len(rest) == 1 and method == "DELETE":
            if self.rules.pop(rest[0], None) is None:
                return _error(404, 10001, "firewallaccessrules.api.not_found")
            return _ok({"id": rest[0]})
        return _error(404, 7000, "No route for that URI")
