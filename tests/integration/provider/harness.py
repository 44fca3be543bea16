"""The real ``terraform`` binary in a working directory, with Weir's provider installed into a
private filesystem mirror and no network: ``TF_CLI_CONFIG_FILE`` names a CLI configuration that
only knows that mirror, and the checkpoint service is off."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

from controlplane.provider.install import offline_environment as mirror_environment

HEADER = """terraform {
  required_providers {
    weir = { source = "weir/weir" }
  }
}
"""


def by_terraform(managed_by: str | None) -> bool:
    """Whether an object is managed by a test's Terraform state: the owner the provider
    derives from a local state file, ``terraform:<directory>-<8 hex digits>``."""
    return re.fullmatch(r"terraform:[A-Za-z0-9_.-]+-[0-9a-f]{8}", managed_by or "") is not None


def offline_environment(root: Path, url: str) -> dict[str, str]:
    """Install the provider under ``root`` and the environment that makes Terraform use it
    against the server at ``url``."""
    return {**mirror_environment(root), "WEIR_URL": url}


class Terraform:
    """``terraform`` commands in ``workdir``; ``run`` fails the test on an unexpected exit."""

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.workdir = workdir
        self.env = env
        workdir.mkdir(parents=True, exist_ok=True)

    def write(self, body: str, name: str = "main.tf") -> None:
        (self.workdir / name).write_text(HEADER + body if name == "main.tf" else body)

    def run(self, *args: str, ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            ["terraform", *args, "-no-color"],
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode not in ok:
            raise AssertionError(
                f"terraform {' '.join(args)} exited {done.returncode}\n"
                f"--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
            )
        return done

    def init(self) -> None:
        self.run("init", "-input=false")

    def apply(self, *args: str) -> str:
        return self.run("apply", "-auto-approve", "-input=false", *args).stdout

    def plan(self, *args: str) -> tuple[int, str]:
        """The detailed exit code (0 no changes, 2 changes) and the plan's text."""
        done = self.run("plan", "-input=false", "-detailed-exitcode", *args, ok=(0, 2))
        return done.returncode, done.stdout

    def failing(self, *args: str) -> str:
        """Run a command that must fail; its error output."""
        done = self.run(*args, ok=(1,))
        return done.stderr + done.stdout

    def destroy(self) -> str:
        return self.run("destroy", "-auto-approve", "-input=false").stdout

    def state(self) -> dict[str, Any]:
        """The resources in the state, by address, with their attribute values."""
        shown = json.loads(self.run("show", "-json").stdout)
        found: dict[str, Any] = {}
        root = shown.get("values", {}).get("root_module", {})
        for module in [root, *root.get("child_modules", [])]:
            for resource in module.get("resources", []):
                found[resource["address"]] = resource["values"]
        return found

    def state_text(self) -> str:
        return (self.workdir / "terraform.tfstate").read_text()
