"""Remote-job tasks: Airbyte, Fivetran and Hightouch syncs, dbt Cloud runs.

Every task starts a job on a SaaS API and, with ``wait`` (the default), polls it until it ends.
Properties, defaults and names are Kestra's. Where Kestra has no property for the API's base URL,
an optional ``url`` is added (default: the public endpoint) so the task can reach another host;
Hightouch also gets ``pollFrequency``, which Kestra fixes at one second.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import Field

from controlplane.spec.fields import DynBool, DynDuration, DynInt, DynStrList, Spec, Text
from controlplane.spec.registry import task
from controlplane.spec.tasks import TaskSpec

_AIRBYTE = "io.kestra.plugin.airbyte"
_DBT_CLOUD = "io.kestra.plugin.dbt.cloud"

AIRBYTE_CLOUD_URL = "https://api.airbyte.com/v1"
AIRBYTE_CLOUD_TOKEN_URL = "https://api.airbyte.com/v1/applications/token"
FIVETRAN_URL = "https://api.fivetran.com"
HIGHTOUCH_URL = "https://api.hightouch.com"
DBT_CLOUD_URL = "https://cloud.getdbt.com"

HttpOptions = dict[str, Any]
"""Kestra's HTTP client configuration; ``timeout.connectTimeout`` / ``timeout.readIdleTimeout``
(or ``connectTimeout`` / ``readTimeout``) set the request timeouts."""


class ApplicationCredentials(Spec):
    clientId: Text
    clientSecret: Text


class _AirbyteConnection(TaskSpec):
    url: Text = Field(description="Base URL of the Airbyte instance (its config API).")
    username: Text | None = None
    password: Text | None = None
    token: Text | None = None
    httpTimeout: DynDuration = timedelta(seconds=10)
    options: HttpOptions | None = None
    applicationCredentials: ApplicationCredentials | None = None
    maxDuration: DynDuration = timedelta(hours=1)
    pollFrequency: DynDuration = timedelta(seconds=1)


@task(f"{_AIRBYTE}.connections.Sync")
class AirbyteSync(_AirbyteConnection):
    """Start a sync of a self-hosted Airbyte connection; outputs ``jobId``, ``alreadyRunning``."""

    connectionId: Text
    wait: DynBool = True
    failOnActiveSync: DynBool = True


@task(f"{_AIRBYTE}.connections.CheckStatus")
class AirbyteCheckStatus(_AirbyteConnection):
    """Wait for an Airbyte job to end; outputs ``finalJobStatus``."""

    jobId: Text


class _AirbyteCloudJob(TaskSpec):
    connectionId: Text
    url: Text = Field(
        AIRBYTE_CLOUD_URL, description="Base URL of the Airbyte public API (Weir's addition)."
    )
    token: Text | None = None
    clientId: Text | None = None
    clientSecret: Text | None = None
    tokenURL: Text = AIRBYTE_CLOUD_TOKEN_URL
    username: Text | None = None
    password: Text | None = None
    wait: DynBool = True
    maxDuration: DynDuration = timedelta(hours=1)
    pollFrequency: DynDuration = timedelta(seconds=1)


@task(f"{_AIRBYTE}.cloud.jobs.Sync")
class AirbyteCloudSync(_AirbyteCloudJob):
    """Start an Airbyte Cloud sync job; outputs ``job``."""


@task(f"{_AIRBYTE}.cloud.jobs.Reset")
class AirbyteCloudReset(_AirbyteCloudJob):
    """Start an Airbyte Cloud reset job; outputs ``job``."""


@task("io.kestra.plugin.fivetran.connectors.Sync")
class FivetranSync(TaskSpec):
    """Start a sync of a Fivetran connector and wait for it to complete (no outputs)."""

    apiKey: Text
    apiSecret: Text
    connectorId: Text
    baseUrl: Text = FIVETRAN_URL
    options: HttpOptions | None = None
    maxAttempts: DynInt = 3
    initialRetryDelay: DynDuration = timedelta(seconds=1)
    force: DynBool = False
    wait: DynBool = True
    maxDuration: DynDuration = timedelta(hours=1)
    pollFrequency: DynDuration = timedelta(seconds=5)


@task("io.kestra.plugin.hightouch.Sync")
class HightouchSync(TaskSpec):
    """Trigger a Hightouch sync run; outputs ``runId`` and the run's ``metadata``."""

    token: Text
    syncId: DynInt
    fullResynchronization: DynBool = False
    wait: DynBool = True
    maxDuration: DynDuration = timedelta(minutes=5)
    options: HttpOptions | None = None
    url: Text = Field(HIGHTOUCH_URL, description="Base URL of the Hightouch API (Weir's addition).")
    pollFrequency: DynDuration = Field(
        timedelta(seconds=1),
        description="Interval between run status checks (Weir's addition; Kestra uses 1s).",
    )


class _DbtCloud(TaskSpec):
    accountId: Text
    token: Text
    baseUrl: Text = DBT_CLOUD_URL
    options: HttpOptions | None = None
    maxRetries: DynInt = 3
    initialDelayMs: DynInt = 1000
    pollFrequency: DynDuration = timedelta(seconds=5)
    maxDuration: DynDuration = timedelta(minutes=60)
    parseRunResults: DynBool = True


@task(f"{_DBT_CLOUD}.TriggerRun")
class DbtCloudTriggerRun(_DbtCloud):
    """Trigger a dbt Cloud job run; outputs ``runId``, ``runResults`` and ``manifest`` URIs."""

    jobId: Text
    cause: Text = "Triggered by Kestra."
    gitSha: Text | None = None
    gitBranch: Text | None = None
    schemaOverride: Text | None = None
    dbtVersionOverride: Text | None = None
    threadsOverride: Text | None = None
    targetNameOverride: Text | None = None
    generateDocsOverride: DynBool | None = None
    timeoutSecondsOverride: DynInt | None = None
    stepsOverride: DynStrList | None = None
    wait: DynBool = True


@task(f"{_DBT_CLOUD}.CheckStatus")
class DbtCloudCheckStatus(_DbtCloud):
    """Wait for a dbt Cloud run to end; outputs ``runResults`` and ``manifest`` URIs."""

    runId: Text
