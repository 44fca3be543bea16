"""Kubernetes: the task runner that runs script tasks as Pods, and Kestra's Kubernetes tasks
(``io.kestra.plugin.kubernetes.*``): PodCreate and the kubectl-like Apply, Get, Delete, Patch
and Restart.

Every one reaches the API server with ``config`` (runner) / ``connection`` (tasks) when given;
otherwise with the service account of the Pod Weir runs in, otherwise with the kubeconfig
(``KUBECONFIG`` or ``~/.kube/config``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from pydantic import Field

from controlplane.spec.fields import (
    DynBool,
    DynDuration,
    DynMap,
    DynStrList,
    Spec,
    Text,
)
from controlplane.spec.registry import runner, task
from controlplane.spec.tasks import TaskSpec

_K8S = "io.kestra.plugin.kubernetes"


class Connection(Spec):
    """Kestra's connection block: where the API server is and how to authenticate to it."""

    masterUrl: Text | None = None
    namespace: Text | None = None
    apiVersion: Text | None = None
    caCertFile: Text | None = None
    caCertData: Text | None = None
    clientCertFile: Text | None = None
    clientCertData: Text | None = None
    clientKeyFile: Text | None = None
    clientKeyData: Text | None = None
    clientKeyAlgo: Text | None = None
    clientKeyPassphrase: Text | None = None
    oauthToken: Text | None = None
    username: Text | None = None
    password: Text | None = None
    trustCerts: DynBool | None = None
    disableHostnameVerification: DynBool | None = None


class PodResources(Spec):
    """The main container's resources, Kestra's runner shape (``request``/``limit``)."""

    request: dict[str, Text] | None = None
    limit: dict[str, Text] | None = None


class SideCar(Spec):
    image: Text | None = None
    resources: dict[str, Any] | None = None


@runner(
    "io.kestra.plugin.ee.kubernetes.runner.Kubernetes",
    f"{_K8S}.runner.Kubernetes",
    f"{_K8S}.runner.KubernetesTaskRunner",
    "io.weir.runner.Kubernetes",
)
class KubernetesRunner(Spec):
    """Runs the task's commands in a Pod of its own, one per attempt (docs/kubernetes.md)."""

    type: str
    version: str | None = None
    config: Connection | None = None
    namespace: Text = "default"
    pullPolicy: Literal["Always", "IfNotPresent", "Never"] | Text = "Always"
    serviceAccountName: Text | None = None
    labels: dict[str, Text] | None = None
    nodeSelector: dict[str, Text] | None = None
    resources: PodResources | None = None
    waitUntilRunning: DynDuration = timedelta(minutes=10)
    waitUntilCompletion: DynDuration = timedelta(hours=1)
    delete: DynBool = True
    resume: DynBool = True
    fileSidecar: SideCar | None = None
    waitForLogs: DynDuration = timedelta(seconds=1)


class KubernetesTask(TaskSpec):
    """What Kestra's Kubernetes tasks share."""

    connection: Connection | None = None
    namespace: Text = "default"
    waitUntilReady: DynDuration | None = None


@task(f"{_K8S}.core.PodCreate", f"{_K8S}.PodCreate")
class PodCreate(KubernetesTask):
    metadata: DynMap | None = None
    spec: DynMap
    delete: DynBool = True
    resume: DynBool = True
    waitUntilRunning: DynDuration = timedelta(minutes=10)
    waitRunning: DynDuration = timedelta(hours=1)
    waitForLogInterval: DynDuration = timedelta(seconds=30)
    inputFiles: dict[str, Any] | str | None = None
    outputFiles: DynStrList | None = None
    containerDefaultSpec: DynMap | None = None
    fileSidecar: SideCar | None = None


@task(f"{_K8S}.kubectl.Apply")
class Apply(KubernetesTask):
    spec: Text = Field(description="One or more YAML documents of Kubernetes objects.")


class _Named(KubernetesTask):
    resourceType: Text
    apiGroup: Text | None = None
    apiVersion: Text | None = None


@task(f"{_K8S}.kubectl.Get")
class Get(_Named):
    resourcesNames: DynStrList | None = None
    fetchType: Literal["NONE", "FETCH", "FETCH_ONE", "STORE"] | Text = "NONE"


@task(f"{_K8S}.kubectl.Delete")
class Delete(_Named):
    resourcesNames: DynStrList


@task(f"{_K8S}.kubectl.Patch")
class Patch(_Named):
    resourceName: Text
    patch: Text
    patchStrategy: Literal["STRATEGIC_MERGE", "JSON_MERGE", "JSON_PATCH"] | Text = "STRATEGIC_MERGE"


@task(f"{_K8S}.kubectl.Restart")
class Restart(KubernetesTask):
    resourceType: Literal["Deployment", "StatefulSet", "DaemonSet"] | Text
    resourcesNames: DynStrList
