"""Cloudflare (``io.kestra.plugin.cloudflare.*``): cache purges, DNS records, zones and IP
access rules over the API v4, authenticated by ``apiToken``; ``baseUrl`` moves the API."""

from __future__ import annotations

from typing import Any

from controlplane.spec.fields import DynBool, DynInt, DynList, DynStrList, Text
from controlplane.spec.registry import task
from controlplane.spec.tasks import TaskSpec

_CLOUDFLARE = "io.kestra.plugin.cloudflare"
CLOUDFLARE_URL = "https://api.cloudflare.com/client/v4"


class _Cloudflare(TaskSpec):
    apiToken: Text
    baseUrl: Text = CLOUDFLARE_URL
    options: dict[str, Any] | None = None


@task(f"{_CLOUDFLARE}.cache.Purge")
class CloudflarePurge(_Cloudflare):
    """Purge a zone's cache: everything (``purgeAll``), else ``files`` (URLs), else ``tags``.
    Outputs ``requestId``."""

    zoneId: Text
    purgeAll: DynBool = False
    files: DynStrList | None = None
    tags: DynStrList | None = None


@task(f"{_CLOUDFLARE}.dns.records.Upsert")
class CloudflareDnsUpsert(_Cloudflare):
    """Create a DNS record, or update the first one with the same ``name`` and ``recordType``.
    Outputs ``recordId``, ``name``, ``type``, ``content``, ``ttl``, ``proxied`` and ``action``
    (``created`` or ``updated``)."""

    zoneId: Text
    recordType: Text
    name: Text
    content: Text
    ttl: DynInt = 1
    proxied: DynBool = False


@task(f"{_CLOUDFLARE}.dns.records.Batch")
class CloudflareDnsBatch(_Cloudflare):
    """Create (``posts``), update (``patches``, each with its ``id``) and delete (``deletes``,
    ``{id}``) DNS records in one request. Outputs ``success``."""

    zoneId: Text
    posts: DynList | None = None
    patches: DynList | None = None
    deletes: DynList | None = None


@task(f"{_CLOUDFLARE}.zones.List")
class CloudflareZonesList(_Cloudflare):
    """The zones the token can read. Outputs ``zones`` (``id``, ``name``, ``status`` each)."""


class _AccessRule(_Cloudflare):
    zoneId: Text | None = None
    accountId: Text | None = None


@task(f"{_CLOUDFLARE}.waf.accessrules.Create")
class CloudflareAccessRuleCreate(_AccessRule):
    """Create an IP access rule in a zone or an account: ``mode`` (block, challenge, whitelist,
    js_challenge, managed_challenge) for a ``target`` (ip, ip_range, asn, country) ``value``.
    Outputs ``ruleId``, ``mode``, ``target``, ``value``."""

    mode: Text
    target: Text
    value: Text
    notes: Text | None = None


@task(f"{_CLOUDFLARE}.waf.accessrules.Delete")
class CloudflareAccessRuleDelete(_AccessRule):
    """Delete an IP access rule. Outputs ``ruleId`` and ``deleted``."""

    ruleId: Text
