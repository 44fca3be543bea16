"""Argo CD (``io.kestra.plugin.argocd.apps.*``): sync an Application and read its status.

Kestra's plugin runs the ``argocd`` CLI in a container; Weir calls the Argo CD API server's
REST API (the same API the CLI uses, through its gRPC gateway) with the bearer ``token``.
Properties and outputs are Kestra's. ``taskRunner``, ``containerImage``, ``env``, ``grpcWeb``
and ``argoCDVersion`` only concern the CLI and are accepted and ignored; ``pollFrequency`` is
Weir's addition (how often a sync's progress is read).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import Field

from controlplane.spec.fields import DynBool, DynDuration, Text
from controlplane.spec.registry import task
from controlplane.spec.tasks import TaskSpec

_APPS = "io.kestra.plugin.argocd.apps"


class _ArgoCD(TaskSpec):
    server: Text = Field(description="Argo CD API server, e.g. https://argocd.example.com.")
    token: Text
    application: Text
    insecure: DynBool = False
    serverCert: Text | None = Field(
        None, description="PEM certificate (or CA) the server's TLS certificate is checked with."
    )
    plaintext: DynBool = False
    grpcWeb: DynBool = False
    taskRunner: dict[str, Any] | None = None
    containerImage: Text = "curlimages/curl:latest"
    env: dict[str, Text] | None = None
    argoCDVersion: Text | None = None


@task(f"{_APPS}.Sync")
class ArgoCDSync(_ArgoCD):
    """Sync an Application (``revision``, ``prune``, ``dryRun``, ``force``) and wait for the
    operation to end; the task's ``timeout`` bounds the wait. Outputs ``syncStatus``,
    ``healthStatus``, ``revision``, ``resources`` and ``rawOutput`` (the Application as JSON)."""

    revision: Text | None = None
    prune: DynBool = False
    dryRun: DynBool = False
    force: DynBool = False
    pollFrequency: DynDuration = Field(
        timedelta(seconds=1), description="How often the sync's progress is read (Weir's addition)."
    )


@task(f"{_APPS}.Status")
class ArgoCDStatus(_ArgoCD):
    """Read an Application's sync and health status; ``refresh`` has Argo CD compare it with
    the cluster first. Outputs ``syncStatus``, ``healthStatus``, ``conditions``,
    ``resources`` and ``rawOutput``."""

    refresh: DynBool = False
