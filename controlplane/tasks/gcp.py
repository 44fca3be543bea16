"""What the GCP tasks share: credentials, project and API endpoint from Kestra's connection
properties, and Google API errors as task failures that name the call."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from google.api_core.client_options import ClientOptions
from google.api_core.exceptions import GoogleAPIError
from google.auth.exceptions import GoogleAuthError

from controlplane.engine.runnable import RunContext, TaskFailed
from controlplane.spec.plugins.gcp import GcpConnection
from controlplane.tasks import props


@dataclass(frozen=True)
class Connection:
    """Keyword arguments for a google-cloud client: project, credentials and client options."""

    project: str | None
    credentials: Any
    endpoint: str | None

    def client_kwargs(self) -> dict[str, Any]:
        options = ClientOptions(api_endpoint=self.endpoint) if self.endpoint else None
        return {
            "project": self.project,
            "credentials": self.credentials,
            "client_options": options,
        }


def connection(task: GcpConnection, ctx: RunContext, emulator_variable: str) -> Connection:
    """The task's connection: ``endpointOverride``, else the emulator variable of the worker's
    environment (STORAGE_EMULATOR_HOST, BIGQUERY_EMULATOR_HOST), else Google's API; credentials
    from ``serviceAccount``, else anonymous for an endpoint, else Application Default
    Credentials."""
    endpoint = props.optional_text(ctx, task.endpointOverride) or os.environ.get(emulator_variable)
    if endpoint and "://" not in endpoint:
        endpoint = f"http://{endpoint}"
    project = props.optional_text(ctx, task.projectId)
    scopes = props.string_list(ctx, task.scopes, "scopes")
    try:
        credentials, default_project = _credentials(task, ctx, scopes, endpoint)
    except (GoogleAuthError, ValueError) as exc:
        raise TaskFailed(
            f"GCP credentials of task '{ctx.task_id}' are unusable ({type(exc).__name__}): "
            "give 'serviceAccount' the JSON key of a service account, or set up Application "
            "Default Credentials on the worker"
        ) from None
    return Connection(project or default_project, credentials, endpoint)


def _credentials(
    task: GcpConnection, ctx: RunContext, scopes: list[str], endpoint: str | None
) -> tuple[Any, str | None]:
    from google.auth import credentials as auth_credentials
    from google.auth import default, impersonated_credentials
    from google.oauth2 import service_account

    key = props.optional_text(ctx, task.serviceAccount)
    project: str | None = None
    if key:
        try:
            info = json.loads(key)
        except json.JSONDecodeError:
            raise ValueError("serviceAccount is not JSON") from None
        credentials: Any = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
            info, scopes=scopes
        )
        project = info.get("project_id")
    elif endpoint:
        credentials = auth_credentials.AnonymousCredentials()  # type: ignore[no-untyped-call]
    else:
        credentials, project = default(scopes=scopes)
    target = props.optional_text(ctx, task.impersonatedServiceAccount)
    if target:
        credentials = impersonated_credentials.Credentials(  # type: ignore[no-untyped-call]
            source_credentials=credentials, target_principal=target, target_scopes=scopes
        )
    return credentials, project


def failing(action: str, exc: Exception) -> TaskFailed:
    """A Google API error as a task failure naming what was being done."""
    if isinstance(exc, GoogleAPIError):
        message = getattr(exc, "message", None) or str(exc)
        code = getattr(exc, "code", None)
        return TaskFailed(f"{action} failed: {code or type(exc).__name__}: {message}")
    return TaskFailed(f"{action} failed: {exc}")


def split_gs_uri(uri: str, name: str) -> tuple[str, str]:
    """``gs://bucket/path`` as (bucket, path); the path may be empty."""
    if not uri.startswith("gs://"):
        raise TaskFailed(f"'{name}' must be a gs://bucket/path URI, got '{uri}'")
    bucket, _, path = uri[len("gs://") :].partition("/")
    if not bucket:
        raise TaskFailed(f"'{name}' names no bucket: '{uri}' (write gs://bucket/path)")
    return bucket, path
