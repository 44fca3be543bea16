"""dbt-core CLI tasks (``io.kestra.plugin.dbt.cli.*``).

``DbtCLI`` runs any list of commands like a shell script task. The older per-command tasks
(``Build``, ``Run``, ``Test``...) each run one dbt command built from their properties, and
``Setup`` installs dbt into a virtualenv of the working directory for the tasks that follow.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from controlplane.spec.fields import DynBool, DynInt, DynStrList, Spec, Text
from controlplane.spec.plugins.scripts import DockerOptions, ScriptTask
from controlplane.spec.registry import task

_DBT = "io.kestra.plugin.dbt.cli"

Profiles = Text | dict[str, Any]
"""The content of ``profiles.yml``: YAML text, or a map written out as YAML."""


class KvStoreManifest(Spec):
    """Where ``manifest.json`` is kept in the KV store."""

    key: Text
    namespace: Text


@task(f"{_DBT}.DbtCLI")
class DbtCLI(ScriptTask):
    """Runs dbt commands in the working directory and reports the results of each node."""

    commands: DynStrList
    profiles: Profiles | None = None
    projectDir: Text | None = None
    parseRunResults: DynBool = True
    storeManifest: KvStoreManifest | None = None
    loadManifest: KvStoreManifest | None = None
    logFormat: Literal["JSON", "TEXT", "DEBUG", "NONE"] = "JSON"
    engine: Literal["CORE", "FUSION"] = "CORE"


class DbtCommandTask(ScriptTask):
    """What the per-command tasks share: one dbt command and the flags every command takes.

    ``failFast`` is dbt's ``--fail-fast`` here, off by default.
    """

    dbt_command: ClassVar[str]
    parses_results: ClassVar[bool] = True

    failFast: DynBool = False
    warnError: DynBool = False
    debug: DynBool = False
    projectDir: Text | None = None
    dbtPath: Text = "./bin/dbt"
    profiles: Profiles | None = None
    parseRunResults: DynBool = True
    dockerOptions: DockerOptions | None = None
    thread: DynInt | None = None
    fullRefresh: DynBool = False
    target: Text | None = None
    selector: Text | None = None
    select: DynStrList | None = None
    exclude: DynStrList | None = None


@task(f"{_DBT}.Build")
class DbtBuild(DbtCommandTask):
    dbt_command = "build"


@task(f"{_DBT}.Run")
class DbtRun(DbtCommandTask):
    dbt_command = "run"


@task(f"{_DBT}.Test")
class DbtTest(DbtCommandTask):
    dbt_command = "test"


@task(f"{_DBT}.Compile")
class DbtCompile(DbtCommandTask):
    dbt_command = "compile"


@task(f"{_DBT}.Seed")
class DbtSeed(DbtCommandTask):
    dbt_command = "seed"


@task(f"{_DBT}.Snapshot")
class DbtSnapshot(DbtCommandTask):
    dbt_command = "snapshot"


@task(f"{_DBT}.Deps")
class DbtDeps(DbtCommandTask):
    dbt_command = "deps"
    parses_results = False


@task(f"{_DBT}.List")
class DbtList(DbtCommandTask):
    dbt_command = "list"
    parses_results = False


@task(f"{_DBT}.Freshness")
class DbtFreshness(DbtCommandTask):
    dbt_command = "source freshness"
    parses_results = False


@task(f"{_DBT}.Setup")
class DbtSetup(ScriptTask):
    """Creates a virtualenv in the working directory, installs ``requirements`` into it and writes
    ``.profile/profiles.yml``: the per-command tasks then find ``./bin/dbt`` there."""

    profiles: Profiles
    requirements: DynStrList
    pythonPath: Text = "python"
    exitOnFailed: DynBool = True
    dockerOptions: DockerOptions | None = None
