"""Putting the provider where ``terraform init`` finds it without a network.

Terraform looks for providers in "implied local mirror" directories before it asks a registry:
``~/.terraform.d/plugins/<host>/<namespace>/<type>/<version>/<os>_<arch>/`` among them. A
launcher written there runs this Python's ``controlplane.provider.main``, so that
``source = "weir/weir"`` resolves to the installed Weir with no registry and no CLI
configuration. ``directory`` may instead be the ``path`` of a ``filesystem_mirror`` block;
:func:`offline_environment` installs into a private mirror and returns the environment of a
Terraform that knows only that mirror, for runs that must never reach a network (tests, schema
and docs generation).

Installing also compiles the bytecode of the modules the provider runs (its own, the client's,
the flow language's): Terraform starts the provider about three times per command, and a Python
that may not write bytecode (``PYTHONDONTWRITEBYTECODE``, a read-only tree) would otherwise
compile them from source at every start.
"""

from __future__ import annotations

import compileall
import json
import os
import platform
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from controlplane import __version__
from controlplane.provider.provider import SOURCE_ADDRESS

_ARCHES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


@dataclass(frozen=True)
class Installed:
    launcher: Path
    version: str
    platform: str


def default_directory() -> Path:
    return Path.home() / ".terraform.d" / "plugins"


def terraform_platform() -> str:
    """This machine as Terraform names platforms: ``linux_amd64``, ``darwin_arm64``."""
    machine = platform.machine().lower()
    return f"{sys.platform.replace('win32', 'windows')}_{_ARCHES.get(machine, machine)}"


def install(directory: Path | None = None, python: str | None = None) -> Installed:
    """Write the launcher under ``directory`` (the implied mirror by default)."""
    version = terraform_version(__version__)
    target = terraform_platform()
    folder = (directory or default_directory()).joinpath(
        *SOURCE_ADDRESS.split("/"), version, target
    )
    folder.mkdir(parents=True, exist_ok=True)
    launcher = folder / f"terraform-provider-weir_v{version}"
    interpreter = shlex.quote(python or sys.executable)
    launcher.write_text(
        "#!/bin/sh\n"
        "# Weir's Terraform provider; written by `weir terraform install`.\n"
        f'exec {interpreter} -m controlplane.provider.main "$@"\n'
    )
    launcher.chmod(0o755)
    if python is None:
        precompile()
    return Installed(launcher, version, target)


PACKAGES = ("provider", "client", "spec")
"""The subpackages of ``controlplane`` that a provider process imports, besides its top level."""


def precompile() -> None:
    """Write this interpreter's bytecode of what the provider imports, where it is missing or
    stale. Best effort: a tree it may not write is left as is, and the provider then compiles
    in memory as before."""
    root = Path(__file__).resolve().parent.parent
    compileall.compile_dir(root, maxlevels=0, quiet=2)
    for package in PACKAGES:
        compileall.compile_dir(root / package, quiet=2)


def write_mirror_config(config: Path, mirror: Path) -> Path:
    """Write at ``config`` a CLI configuration (for ``TF_CLI_CONFIG_FILE``) whose only provider
    source is the filesystem mirror ``mirror``, and only for Weir's provider: ``terraform init``
    then installs Weir from there and fails rather than download anything else."""
    config.write_text(
        "provider_installation {\n"
        "  filesystem_mirror {\n"
        f"    path    = {json.dumps(str(mirror))}\n"
        f"    include = [{json.dumps(SOURCE_ADDRESS)}]\n"
        "  }\n"
        "}\n"
    )
    return config


def offline_environment(root: Path) -> dict[str, str]:
    """Install the provider into a private mirror under ``root``; this process's environment
    made to run ``terraform`` against that mirror alone, without the caller's own ``TF_*`` and
    ``WEIR_*`` settings and without the checkpoint (version check) service."""
    plugins = root / "plugins"
    install(plugins)
    config = write_mirror_config(root / "terraformrc", plugins)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "WEIR_"))}
    env.update(TF_CLI_CONFIG_FILE=str(config), TF_IN_AUTOMATION="1", CHECKPOINT_DISABLE="1")
    return env


def terraform_version(version: str) -> str:
    """Weir's version as the semantic version Terraform requires (``0.1.0.dev1`` → ``0.1.0``)."""
    parts = version.split(".")[:3]
    numbers = [
        part if part.isdigit() else "".join(c for c in part if c.isdigit()) or "0" for part in parts
    ]
    return ".".join(numbers + ["0"] * (3 - len(numbers)))


def environment_hint() -> str:
    """How to point Terraform at the server the provider should talk to."""
    url = os.environ.get("WEIR_URL", "http://127.0.0.1:8080")
    return f'provider "weir" {{ endpoint = "{url}" }}  # or WEIR_URL / WEIR_TOKEN'
