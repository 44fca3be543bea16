"""Apify (``io.kestra.plugin.apify.*``): start an Actor run and read a dataset's items over
Apify's API v2, authenticated by ``apiToken``. ``APIFY_BASE_URL`` in the worker's environment
moves the API (Kestra's plugin reads the ``apify.api.base.url`` system property)."""

from __future__ import annotations

from typing import Any, Literal

from controlplane.spec.fields import DynBool, DynFloat, DynInt, DynMap, DynStrList, Text
from controlplane.spec.registry import task
from controlplane.spec.tasks import TaskSpec

_APIFY = "io.kestra.plugin.apify"
APIFY_URL = "https://api.apify.com/v2"


class _Apify(TaskSpec):
    apiToken: Text
    options: dict[str, Any] | None = None


@task(f"{_APIFY}.actor.Run")
class ApifyActorRun(_Apify):
    """Start a run of ``actorId`` with ``input``; ``requestTimeout`` (seconds), ``memory``
    (``MB_128`` ... ``MB_32768``), ``maxItems``, ``maxTotalChargeUsd``, ``build``,
    ``waitForFinish`` (0-60 seconds) and ``webhooks`` become the call's parameters. Outputs the
    run as Apify describes it (``id``, ``actId``, ``status``, ``defaultDatasetId``, ``stats``,
    ``usageTotalUsd``, ...)."""

    actorId: Text
    input: DynMap | None = None
    requestTimeout: DynFloat | None = None
    memory: Text | int | None = None
    maxItems: DynInt | None = None
    maxTotalChargeUsd: DynFloat | None = None
    build: Text | None = None
    waitForFinish: DynInt | None = None
    webhooks: Text | None = None


@task(f"{_APIFY}.dataset.Get")
class ApifyDatasetGet(_Apify):
    """The items of dataset ``datasetId`` (``offset``, ``limit``, ``fields``, ``omit``,
    ``unwind``, ``flatten``, ``sort``, ``clean``, ``skipEmpty``, ``skipHidden``,
    ``skipFailedPages``, ``simplified``, ``view``), read again while it is empty, up to the
    task's ``timeout`` (5 minutes without one). Outputs ``dataset``."""

    datasetId: Text
    clean: DynBool = True
    offset: DynInt = 0
    limit: DynInt = 1000
    fields: DynStrList | None = None
    omit: DynStrList | None = None
    unwind: DynStrList | None = None
    flatten: DynBool = False
    sort: Literal["ASC", "DESC"] | Text = "ASC"
    skipEmpty: DynBool = True
    skipFailedPages: DynBool = False
    view: Text | None = None
    skipHidden: DynBool = False
    simplified: DynBool = False
