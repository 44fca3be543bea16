"""HubSpot CRM (``io.kestra.plugin.hubspot.*``): tickets, contacts and companies over the CRM v3
API, authenticated by ``apiKey`` (a private app token) or ``oauthToken``."""

from __future__ import annotations

from typing import Any, Literal

from controlplane.spec.fields import DynBool, DynInt, DynMap, DynStrList, Text
from controlplane.spec.registry import task
from controlplane.spec.tasks import TaskSpec


class _HubSpot(TaskSpec):
    apiKey: Text | None = None
    oauthToken: Text | None = None
    options: dict[str, Any] | None = None


class _Create(_HubSpot):
    additionalProperties: DynMap | None = None


@task("io.kestra.plugin.hubspot.tickets.Create")
class HubSpotTicketCreate(_Create):
    """Create a ticket (``subject``, ``content``, ``stage``, ``pipeline``, ``priority``).
    Outputs ``id`` and ``uri`` (an Ion file with the ticket's properties)."""

    subject: Text | None = None
    content: Text | None = None
    pipeline: DynInt | None = None
    stage: DynInt = 1
    priority: Literal["LOW", "MEDIUM", "HIGH"] | None = None


@task("io.kestra.plugin.hubspot.contacts.Create")
class HubSpotContactCreate(_Create):
    """Create a contact. Outputs ``id`` and ``uri``."""

    email: Text
    firstName: Text | None = None
    lastName: Text | None = None
    phone: Text | None = None
    jobTitle: Text | None = None
    lifecycleStage: Text | None = None


class _Search(_HubSpot):
    """``POST .../search`` with ``query``, ``filterGroups``, ``properties``, ``sorts``,
    ``limit`` and ``after``; ``fetchAllPages`` follows the paging. Outputs ``total`` and ``uri``
    (an Ion file of each result's properties)."""

    query: Text | None = None
    filterGroups: list[dict[str, Any]] | Text | None = None
    properties: DynStrList | None = None
    limit: DynInt = 10
    after: Text | None = None
    sorts: list[dict[str, Any]] | Text | None = None
    fetchAllPages: DynBool = False


@task("io.kestra.plugin.hubspot.contacts.Search")
class HubSpotContactSearch(_Search):
    pass


@task("io.kestra.plugin.hubspot.companies.Search")
class HubSpotCompanySearch(_Search):
    pass
