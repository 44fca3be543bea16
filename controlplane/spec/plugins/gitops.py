"""Weir's own GitOps task (``io.weir.gitops.Reconcile``): make a Weir server equal to a
desired-state repository (``weir.yaml``, ``namespaces/<ns>/...``), as ``weir gitops apply`` does.

The task reaches the server through its HTTP API, like any remote user: ``server`` defaults to
the kube-DNS name of Weir's Service in a Kubernetes deployment.
"""

from __future__ import annotations

from pydantic import Field

from controlplane.spec.fields import DynBool, Text
from controlplane.spec.registry import task
from controlplane.spec.tasks import TaskSpec

IN_CLUSTER_SERVER = "http://weir.weir-system.svc.cluster.local:8080"
"""Weir's API as seen from a pod of the cluster it is deployed in."""


@task("io.weir.gitops.Reconcile")
class Reconcile(TaskSpec):
    url: Text = Field(
        description=(
            "The desired-state repository: a git URL (https://, ssh://, git@host:path, file://) "
            "or a path on the worker (a repository, or a directory taken as it is when no "
            "branch is given)."
        )
    )
    branch: Text | None = Field(
        None, description="The branch, tag or commit to apply; by default the remote's HEAD."
    )
    path: Text = Field("", description="The directory of the repository holding weir.yaml.")
    server: Text = Field(IN_CLUSTER_SERVER, description="The URL of the Weir server to apply to.")
    token: Text | None = Field(
        None,
        description=(
            "A Weir API token, for a server that requires one: usually "
            "\"{{ secret('WEIR_TOKEN') }}\". Never logged."
        ),
    )
    username: Text | None = Field(
        None, description="The user name for an https repository (default 'git' with a password)."
    )
    password: Text | None = Field(
        None, description="A password or access token for an https repository. Never logged."
    )
    environment: Text | None = Field(
        None, description="An environment of weir.yaml, whose namespace overrides apply."
    )
    prune: DynBool | None = Field(
        None,
        description=(
            "Delete what this source manages and no longer declares; when unset (or an "
            "expression rendering to null), weir.yaml's prune setting."
        ),
    )
    dryRun: DynBool = Field(False, description="Plan and report, write nothing.")
