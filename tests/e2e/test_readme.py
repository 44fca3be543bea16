"""The README, followed word for word by a new user, in a fresh copy of the repository.

Every fenced command block of README.md is preceded by a marker: ``main-command`` and
``test-command`` (the second is what ``.ci/run`` runs), ``readme-test: NAME`` for the blocks this
test runs, or ``tested-by: PATH`` for the ones another test covers. The steps run with the
defaults a new user has: no ``WEIR_*`` variables, the relative home ``./.weir``, a home directory
of their own, and the venv the main command makes (installed from requirements.lock).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
API = "http://127.0.0.1:8080/api/v1"
_MARKER = re.compile(r"^<!-- (main-command|test-command|readme-test: [\w-]+|tested-by: \S+) -->$")
_FENCE = re.compile(r"^```(\w*)$")
_STALL = 900.0
"""A step that prints nothing new for this long is stuck (a fresh install downloads for a while)."""


def readme_blocks(text: str) -> tuple[dict[str, str], list[str]]:
    """The marked blocks by marker, and the first line of every command block with no marker."""
    blocks: dict[str, str] = {}
    unmarked: list[str] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        fence = _FENCE.match(lines[index])
        if not fence or not fence.group(1):
            index += 1
            continue
        end = lines.index("```", index + 1)
        body = "\n".join(lines[index + 1 : end]) + "\n"
        marker = _MARKER.match(lines[index - 1]) if index else None
        if marker:
            name = marker.group(1).removeprefix("readme-test: ")
            blocks[name] = body
        elif fence.group(1) == "sh":
            unmarked.append(body.splitlines()[0])
        index = end + 1
    return blocks, unmarked


def test_every_command_block_of_the_readme_is_run_by_a_test() -> None:
    blocks, unmarked = readme_blocks(README.read_text())
    assert not unmarked, f"README command blocks no test runs: {unmarked}"
    for name in blocks:
        if name.startswith("tested-by: "):
            assert (ROOT / name.removeprefix("tested-by: ")).is_file(), name


def test_an_unmarked_block_is_found() -> None:
    text = "Intro\n\n```sh\nweir frobnicate\n```\n"
    assert readme_blocks(text)[1] == ["weir frobnicate"]


class NewUser:
    """A shell in the fresh copy, with the environment of someone who just cloned Weir."""

    def __init__(self, folder: Path, home: Path) -> None:
        self.folder = folder
        path = [p for p in os.environ["PATH"].split(os.pathsep) if ".venv" not in p]
        self.env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("WEIR_", "PYTEST", "VIRTUAL_ENV", "TF_"))
        }
        self.env.update(
            HOME=str(home),
            PATH=os.pathsep.join(path),
            # Downloads are the user's own, but need not be made again for each run.
            PIP_CACHE_DIR=str(Path.home() / ".cache" / "pip"),
        )

    def run(self, script: str, *, cwd: Path | None = None, answer: str = "") -> str:
        """Run ``script`` with bash; its output. A non-zero exit fails with the output."""
        done = self.attempt(script, cwd=cwd, answer=answer)
        assert done.returncode == 0, f"$ {script}\n{done.stdout}"
        return done.stdout

    def attempt(
        self, script: str, *, cwd: Path | None = None, answer: str = ""
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=cwd or self.folder,
            env=self.env,
            input=answer,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=_STALL,
        )

    def shell(self, line: str) -> str:
        """A line written with bare ``weir``, as the README says: with the venv activated."""
        return self.run(f". .venv/bin/activate && {line}")


def fresh_copy(target: Path) -> Path:
    """The repository's files as a clone would have them (tracked and new, not ignored)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        stdout=subprocess.PIPE,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source, copy = ROOT / name, target / name
        if not source.exists() and not source.is_symlink():
            continue  # deleted in the working tree
        copy.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            copy.symlink_to(os.readlink(source))
        else:
            shutil.copy2(source, copy)
    return target


def _get(path: str) -> object:
    with urllib.request.urlopen(API + path, timeout=30) as answer:
        return json.load(answer)


def _port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class Server:
    """The main command, running in the background like the user's first terminal."""

    def __init__(self, user: NewUser, command: str, log: Path) -> None:
        self.log = log
        self.output = log.open("w")
        self.process = subprocess.Popen(
            ["bash", "-euo", "pipefail", "-c", command],
            cwd=user.folder,
            env=user.env,
            stdout=self.output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_until_serving(self) -> None:
        """Until the API answers; fails when the command ends or prints nothing for a long time."""
        last_size, last_change = -1, time.monotonic()
        while True:
            assert self.process.poll() is None, f"the main command ended:\n{self.text()}"
            try:
                _get("/health")
                return
            except OSError:
                pass
            size = self.log.stat().st_size
            if size != last_size:
                last_size, last_change = size, time.monotonic()
            assert time.monotonic() - last_change < _STALL, f"stuck:\n{self.text()}"
            time.sleep(0.5)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(120)
        self.output.close()

    def text(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture(scope="module")
def readme() -> dict[str, str]:
    return readme_blocks(README.read_text())[0]


@pytest.fixture
def new_user(tmp_path: Path) -> NewUser:
    return NewUser(fresh_copy(tmp_path / "weir"), tmp_path / "home")


@pytest.fixture
def server(new_user: NewUser, readme: dict[str, str], tmp_path: Path) -> Iterator[Server]:
    assert _port_is_free(8080), "the README's server listens on 127.0.0.1:8080, which is taken"
    running = Server(new_user, readme["main-command"], tmp_path / "server.log")
    try:
        running.wait_until_serving()
        yield running
    finally:
        running.stop()


@pytest.mark.slow
def test_the_readme_from_a_fresh_clone(
    new_user: NewUser, server: Server, readme: dict[str, str], tmp_path: Path
) -> None:
    assert (new_user.folder / ".weir" / "weir.db").is_file(), "the home is ./.weir by default"
    _follow_up(new_user, readme)
    _python_client(new_user, readme)
    for line in _lines(readme["using"]) + _lines(readme["tokens"]):
        new_user.shell(line)
    _terraform(new_user, readme)
    _cdktf(new_user, readme)
    _gitops(new_user, readme)
    server.stop()
    _demo_anywhere(new_user, readme, tmp_path / "elsewhere")


def _lines(block: str) -> list[str]:
    """A block's commands, one per line (continuations joined), comments left to bash."""
    return [line for line in block.replace("\\\n", " ").splitlines() if line.strip()]


def _follow_up(user: NewUser, readme: dict[str, str]) -> None:
    demo, *reads = _lines(readme["follow-up"])
    printed = user.run(demo)
    assert "SUCCESS" in printed and "top_category" in printed, printed
    found = re.search(r"execution (\w+) on http://127\.0\.0\.1:8080", printed)
    assert found, printed
    for line in reads:
        output = user.run(line.replace(" ID", f" {found.group(1)}"))
        assert found.group(1) in output or "INFO" in output, output
    api = user.run(readme["api"])
    assert '"id"' in api and "Hello, Ada" in api, api


def _python_client(user: NewUser, readme: dict[str, str]) -> None:
    printed = user.run(".venv/bin/python", answer=readme["client"])
    assert "Hello, Ada!" in printed, printed


def _terraform(user: NewUser, readme: dict[str, str]) -> None:
    user.shell(readme["terraform-install"])
    (user.folder / "main.tf").write_text(readme["terraform-config"])
    applied = user.run(readme["terraform-apply"], answer="yes\n")
    assert "1 imported" in applied, applied
    again = user.attempt("terraform plan -detailed-exitcode -no-color")
    assert again.returncode == 0, f"the adopted flow still differs:\n{again.stdout}"


def _cdktf(user: NewUser, readme: dict[str, str]) -> None:
    user.run(readme["cdktf-install"])
    (user.folder / "team.py").write_text(readme["cdktf-app"])
    applied = user.run(readme["cdktf-apply"], answer="yes\n")
    assert "2 added" in applied, applied
    assert isinstance(_get("/flows/company.marketing/hello"), dict)


def _gitops(user: NewUser, readme: dict[str, str]) -> None:
    plan, apply, status = _lines(readme["gitops"])
    planned = user.attempt(f". .venv/bin/activate && {plan}")
    assert planned.returncode == 1, planned.stdout  # "1 changes", as the README says
    user.shell(apply)
    assert "Ready" in user.shell(status) or "ready" in user.shell(status)
    assert user.attempt(f". .venv/bin/activate && {plan}").returncode == 0  # in sync


def _demo_anywhere(user: NewUser, readme: dict[str, str], elsewhere: Path) -> None:
    """``rm -rf .weir && weir demo`` from the root, a subdirectory, and outside the copy."""
    (command,) = _lines(readme["demo"])
    weir = str(user.folder / ".venv" / "bin" / "weir")
    elsewhere.mkdir()
    for folder in (user.folder, user.folder / "docs", elsewhere):
        line = command if folder == user.folder else command.replace(".venv/bin/weir", weir)
        printed = user.run(f"rm -rf .weir && {line}", cwd=folder)
        assert "SUCCESS" in printed and "top category is" in printed, printed
        assert (folder / ".weir" / "weir.db").is_file()
