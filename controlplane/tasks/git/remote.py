"""The repository a git task reaches, and the ``git`` process run against it.

Credentials never reach argv, ``.git/config``, a log line, a message or an output: see the
package docstring for how each one is handed to git. Every line git prints is scrubbed of them
before it is logged.
"""

from __future__ import annotations

import base64
import os
import shlex
import shutil
import ssl
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from controlplane.engine.runnable import RunContext, TaskFailed
from controlplane.masking import Masker
from controlplane.spec.plugins.git import GitTask
from controlplane.tasks import props


class Remote:
    """A repository to reach: its URL without credentials and the environment git needs.

    Used as a context manager: the key file, askpass script and clone live in a private
    temporary directory removed on exit.
    """

    def __init__(self, task: GitTask, ctx: RunContext) -> None:
        raw = props.text(ctx, task.url).strip() if task.url is not None else ""
        if not raw:
            raise TaskFailed("'url' is required: the address of the git repository")
        self.ctx = ctx
        self.url, user, password = _split_credentials(raw)
        self.masker = Masker([raw] if raw != self.url else [])
        self.username = props.optional_text(ctx, task.username) or user
        self.password = props.optional_text(ctx, task.password) or password
        if user is not None and self.password is None:
            self.password = ""  # a token written as the user: https://<token>@host/repo
            self.masker.add(user)
        if self.password is not None and self.username is None:
            self.username = "git"  # token hosts take any user name with a token
        self.private_key = props.optional_text(ctx, task.privateKey)
        self.passphrase = props.optional_text(ctx, task.passphrase)
        self.ca_path = props.optional_text(ctx, task.trustedCaPemPath)
        self.no_proxy = task.noProxy is not None and props.boolean(ctx, task.noProxy)
        self.read_timeout = props.integer(ctx, task.readTimeout, "readTimeout")
        self.submodules = task.cloneSubmodules is not None and props.boolean(
            ctx, task.cloneSubmodules
        )
        for secret in (self.password, self.passphrase, self.private_key):
            self.masker.add(secret)  # a private key line by line too
        self.env: dict[str, str] = {}
        self.scratch = Path()

    @property
    def manager(self) -> str:
        return f"git:{self.url}"

    def __enter__(self) -> Remote:
        if shutil.which("git") is None:
            raise TaskFailed("git is not installed on this worker: put the git CLI on its PATH")
        self.scratch = self.ctx.scratch_dir("weir-git-")
        try:
            self.env = self._environment()
        except BaseException:
            shutil.rmtree(self.scratch, ignore_errors=True)
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)

    def _environment(self) -> dict[str, str]:
        env = {"GIT_TERMINAL_PROMPT": "0", "GIT_TRACE": "0", "GIT_TRACE_CURL": "0"}
        config: list[tuple[str, str]] = []
        if self.read_timeout > 0:
            seconds = str(max(1, self.read_timeout // 1000))
            config += [("http.lowSpeedLimit", "1"), ("http.lowSpeedTime", seconds)]
        if self.username is not None and self.password is not None and _is_http(self.url):
            token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
            self.masker.add(token)
            config.append((f"http.{self.url}.extraHeader", f"Authorization: Basic {token}"))
        if self.ca_path:
            env["GIT_SSL_CAINFO"] = str(self._ca_bundle(self.ca_path))
        if self.no_proxy:
            env.update({"NO_PROXY": "*", "no_proxy": "*"})
        if self.private_key:
            env.update(self._ssh())
        env["GIT_CONFIG_COUNT"] = str(len(config))
        for index, (key, value) in enumerate(config):
            env[f"GIT_CONFIG_KEY_{index}"] = key
            env[f"GIT_CONFIG_VALUE_{index}"] = value
        return env

    def _ssh(self) -> dict[str, str]:
        assert self.private_key is not None
        key = self.scratch / "id_key"
        key.touch(mode=0o600)
        key.write_text(self.private_key.strip() + "\n", encoding="utf-8")
        known = self.scratch / "known_hosts"
        options = [
            "ssh", "-i", str(key), "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=no",
            "-o", f"UserKnownHostsFile={known}",
        ]  # fmt: skip
        env = {"GIT_SSH_VARIANT": "ssh"}
        if self.passphrase:
            askpass = self.scratch / "askpass.sh"
            askpass.write_text('#!/bin/sh\nprintf "%s\\n" "$WEIR_GIT_PASSPHRASE"\n')
            askpass.chmod(0o700)
            env.update(
                {
                    "SSH_ASKPASS": str(askpass),
                    "SSH_ASKPASS_REQUIRE": "force",
                    "WEIR_GIT_PASSPHRASE": self.passphrase,
                }
            )
        else:
            options += ["-o", "BatchMode=yes"]
        env["GIT_SSH_COMMAND"] = shlex.join(options)
        return env

    def _ca_bundle(self, pem: str) -> Path:
        """The trust store git would use, plus ``pem`` (Kestra adds the PEM to the trusted
        certificates; git's own setting would replace them)."""
        try:
            extra = Path(pem).read_bytes()
        except OSError as exc:
            raise TaskFailed(f"'trustedCaPemPath' {pem} cannot be read: {exc.strerror}") from None
        bundle = self.scratch / "ca-bundle.pem"
        default = os.environ.get("GIT_SSL_CAINFO") or ssl.get_default_verify_paths().cafile
        base = Path(default).read_bytes() if default and Path(default).is_file() else b""
        bundle.write_bytes(base + b"\n" + extra)
        return bundle

    def scrub(self, text: str) -> str:
        return self.masker.mask(text)

    def git(
        self, args: list[str], cwd: Path, action: str, quiet: bool = False, ok: int = 0
    ) -> list[str]:
        """Run git; its lines are scrubbed and logged (stdout only unless ``quiet``); an exit
        code other than 0 and ``ok`` fails the task with git's own reason."""
        lines: list[str] = []

        def on_line(line: str, is_stderr: bool) -> None:
            clean = self.scrub(line)
            lines.append(clean)
            if is_stderr:
                failed = clean.startswith(("fatal:", "error:"))
                self.ctx.log("ERROR" if failed else "INFO", clean)
            elif not quiet:
                self.ctx.info(clean)

        code = self.ctx.run_process(["git", *args], env=self.env, cwd=cwd, on_line=on_line)
        if code not in (0, ok):
            errors = [ln for ln in lines if ln.startswith(("fatal:", "error:"))]
            reason = errors[-1] if errors else f"git exited with code {code}"
            raise TaskFailed(f"{action} {self.url} failed: {reason}")
        return lines

    def checkout(self, branch: str | None) -> Path:
        """A depth-1 clone of ``branch`` (the default branch when it does not exist)."""
        target = self.scratch / "repo"
        if branch and not self.has_branch(branch):
            self.ctx.warning(f"Branch {branch} does not exist in {self.url}: using its default")
            branch = None
        clone(self, target, CloneOptions(branch=branch, all_branches=False))
        return target

    def has_branch(self, branch: str) -> bool:
        found = self.git(
            ["ls-remote", "--heads", self.url, f"refs/heads/{branch}"],
            self.scratch,
            "Listing the branches of",
            quiet=True,
        )
        return any(line.endswith(f"refs/heads/{branch}") for line in found)


def _split_credentials(url: str) -> tuple[str, str | None, str | None]:
    """(URL without credentials, user, password) of an http(s) URL; ssh users stay."""
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url, None, None
    host = parts.netloc.rsplit("@", 1)[1]
    user = urllib.parse.unquote(parts.username) if parts.username else None
    password = urllib.parse.unquote(parts.password) if parts.password else None
    if _is_http(url):
        return urllib.parse.urlunsplit(parts._replace(netloc=host)), user, password
    if password is not None:
        safe = f"{parts.username}@{host}"
        return urllib.parse.urlunsplit(parts._replace(netloc=safe)), None, password
    return url, None, None


def _is_http(url: str) -> bool:
    return url.lower().startswith(("http://", "https://"))


# -- clone --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CloneOptions:
    branch: str | None = None
    depth: int = 1
    commit: str | None = None
    tag: str | None = None
    all_branches: bool = True
    no_tags: bool = False


def clone(remote: Remote, target: Path, options: CloneOptions) -> None:
    pinned = options.commit is not None or options.tag is not None
    if target.is_dir() and any(target.iterdir()):
        _init_fetch_checkout(remote, target, options)
        return
    target.mkdir(parents=True, exist_ok=True)
    args = ["clone"]
    if not pinned:
        args += ["--depth", str(options.depth)]
        args += ["--branch", options.branch] if options.branch else []
        args += ["--no-single-branch"] if options.all_branches else ["--single-branch"]
    args += ["--no-tags"] if options.no_tags else []
    args += ["--recurse-submodules"] if remote.submodules else []
    remote.git([*args, "--", remote.url, str(target)], target.parent, "Cloning")
    _checkout_pinned(remote, target, options)


def _init_fetch_checkout(remote: Remote, target: Path, options: CloneOptions) -> None:
    """Clone into a folder that already has files (inputFiles of a WorkingDirectory)."""
    remote.ctx.info(f"Target directory '{target}' is not empty, using init+fetch strategy")
    remote.git(["init", "--quiet"], target, "Initialising a repository for")
    remote.git(["remote", "add", "origin", remote.url], target, "Adding the remote")
    branch = options.branch
    single = not options.all_branches and branch
    heads = f"+refs/heads/{branch}" if single else "+refs/heads/*"
    fetch = ["fetch", "origin", f"{heads}:refs/remotes/origin/{branch if single else '*'}"]
    fetch += ["--no-tags"] if options.no_tags else ["+refs/tags/*:refs/tags/*"]
    if options.commit is None and options.tag is None:
        fetch += ["--depth", str(options.depth)]
    remote.git(fetch, target, "Fetching")
    if options.commit is not None or options.tag is not None:
        _checkout_pinned(remote, target, options)
    else:
        branch = branch or _default_branch(remote, target)
        remote.git(["checkout", "-B", branch, f"origin/{branch}"], target, "Checking out")
        remote.ctx.info(f"Checked out branch {branch} from origin/{branch}")
    if remote.submodules:
        remote.git(["submodule", "update", "--init", "--recursive"], target, "Submodules of")


def _default_branch(remote: Remote, target: Path) -> str:
    lines = remote.git(["ls-remote", "--symref", "origin", "HEAD"], target, "Reading", True)
    for line in lines:
        if line.startswith("ref: refs/heads/"):
            return line.split()[1].removeprefix("refs/heads/")
    raise TaskFailed("Cannot determine the default branch: set the 'branch' property")


def _checkout_pinned(remote: Remote, target: Path, options: CloneOptions) -> None:
    if options.commit is not None:
        remote.git(["checkout", "--detach", options.commit], target, f"Commit {options.commit} of")
        remote.ctx.info(f"Checked out commit {options.commit} (detached HEAD)")
    elif options.tag is not None:
        ref = f"refs/tags/{options.tag}"
        remote.git(["checkout", "--detach", ref], target, f"Tag {options.tag} of")
        remote.ctx.info(f"Checked out tag {options.tag}")
