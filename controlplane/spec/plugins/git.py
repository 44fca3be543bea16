"""Git tasks (``io.kestra.plugin.git.*``): Clone, and the syncs from a repository to the control
plane (SyncFlows, SyncNamespaceFiles and the deprecated Sync), and the pushes the other way
(PushFlows, PushNamespaceFiles); NamespaceSync goes either way.

Properties and defaults are Kestra's. ``kestraUrl`` and ``auth`` (how Kestra's sync tasks reach
its API) are accepted and unused: Weir's sync tasks write to the control plane directly.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from controlplane.spec.fields import DynBool, DynInt, DynMap, DynStrList, Spec, Text
from controlplane.spec.registry import task
from controlplane.spec.tasks import TaskSpec

_GIT = "io.kestra.plugin.git"


class KestraApiAuth(Spec):
    username: Text | None = None
    password: Text | None = None
    auto: DynBool = True


class GitTask(TaskSpec):
    """Where the repository is and how to reach it."""

    url: Text | None = None
    username: Text | None = None
    password: Text | None = None
    privateKey: Text | None = None
    passphrase: Text | None = None
    trustedCaPemPath: Text | None = None
    noProxy: DynBool | None = None
    connectTimeout: DynInt = 10000
    readTimeout: DynInt = 60000
    gitConfig: DynMap | None = None
    kestraUrl: Text | None = None
    auth: KestraApiAuth | None = None
    cloneSubmodules: DynBool | None = None


@task(f"{_GIT}.Clone")
class Clone(GitTask):
    url: Text
    directory: Text | None = None
    branch: Text | None = None
    depth: DynInt = 1
    commit: Text | None = None
    tag: Text | None = None
    cloneAllBranches: DynBool = True
    noTags: DynBool = False


class SyncTask(GitTask):
    branch: Text = "main"
    dryRun: DynBool = False
    failOnMissingDirectory: DynBool = True
    delete: DynBool = False


@task(f"{_GIT}.SyncNamespaceFiles")
class SyncNamespaceFiles(SyncTask):
    namespace: Text = "{{ flow.namespace }}"
    gitDirectory: Text = "_files"


@task(f"{_GIT}.SyncFlows")
class SyncFlows(SyncTask):
    targetNamespace: Text
    gitDirectory: Text = "_flows"
    includeChildNamespaces: DynBool = False
    ignoreInvalidFlows: DynBool = False


@task(f"{_GIT}.Sync")
class Sync(GitTask):
    """Deprecated in Kestra 0.17: flows of ``<gitDirectory>/_flows`` and every other file of
    ``gitDirectory`` into the flow's own namespace; what git no longer has is deleted."""

    gitDirectory: Text | None = None
    namespaceFilesDirectory: Text | None = None
    branch: Text | None = None
    dryRun: DynBool | None = None


class PushTask(GitTask):
    """What the push tasks share: where the files go and how the commit is written."""

    url: Text
    branch: Text = "main"
    gitDirectory: Text
    commitMessage: Text | None = None
    authorName: Text | None = None
    authorEmail: Text | None = None
    dryRun: DynBool = False


@task(f"{_GIT}.PushFlows")
class PushFlows(PushTask):
    """Commits the flows of a namespace to a branch of a repository and pushes it."""

    gitDirectory: Text = "_flows"
    sourceNamespace: Text = "{{ flow.namespace }}"
    targetNamespace: Text | None = None
    flows: list[Text] | Text | None = None  # a glob, a list of them, or a JSON text of a list
    includeChildNamespaces: DynBool = False


@task(f"{_GIT}.PushNamespaceFiles")
class PushNamespaceFiles(PushTask):
    """Commits the files of a namespace (those ``files`` globs match) to ``gitDirectory`` of a
    branch and pushes it; with ``delete``, files of that folder the namespace no longer has go."""

    namespace: Text = "{{ flow.namespace }}"
    gitDirectory: Text = "_files"
    files: list[Text] | Text | None = None  # a glob, a list of them, or a JSON text of a list
    errorOnMissing: DynBool = False
    delete: DynBool = True


class SyncBothWays(PushTask):
    """What NamespaceSync and TenantSync share: which side is the source of truth, and what
    becomes of what the source lacks."""

    gitDirectory: Text = "."
    sourceOfTruth: Literal["GIT", "KESTRA"] = "KESTRA"
    whenMissingInSource: Literal["DELETE", "KEEP", "FAIL"] = "DELETE"
    protectedNamespaces: DynStrList = Field(default_factory=lambda: ["system"])
    onInvalidSyntax: Literal["SKIP", "WARN", "FAIL"] = "FAIL"


@task(f"{_GIT}.NamespaceSync")
class NamespaceSync(SyncBothWays):
    """Makes the flows and files of ``namespace`` and those of ``<gitDirectory>/<namespace>/flows``
    and ``.../files`` equal, the way ``sourceOfTruth`` says; what is missing in the source is
    deleted from the other side, kept or fails the run (``whenMissingInSource``), never in a
    protected namespace."""

    namespace: Text


@task(f"{_GIT}.TenantSync")
class TenantSync(SyncBothWays):
    """NamespaceSync for every namespace: those of the control plane, and with GIT as the
    source of truth also every ``<gitDirectory>/<namespace>/`` folder of the repository."""
