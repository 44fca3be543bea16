"""What the push tasks share: a branch checked out (created from the default one when it does
not exist yet), a folder of it filled by the task, the changes staged, described, committed and
pushed.

Nothing to commit pushes nothing; ``dryRun`` describes the staged changes and stops before the
commit. The changes are described twice: ``changes`` as git's status names them (``{gitPath,
syncState}``), and ``lines`` as Kestra's push tasks write their diff file: one row per file with
the lines it gains (``additions: "+3"``), loses (``deletions: "-1"``) and has replaced in place
(``changes: "2"``), sorted by path.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from controlplane.engine.runnable import RunContext, TaskFailed
from controlplane.spec.plugins.git import PushTask
from controlplane.tasks import props
from controlplane.tasks.git.remote import CloneOptions, Remote, clone
from controlplane.tasks.ion import to_ion

_HUNK = re.compile(r"^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@")
_SCP_LIKE = re.compile(r"^(?:[\w.-]+@)?([\w.-]+):(?!//)(.+)$")


@dataclass
class Pushed:
    commit: str | None = None
    commit_url: str | None = None
    changes: list[dict[str, str]] = field(default_factory=list)
    lines: list[dict[str, str]] = field(default_factory=list)


def push(
    task: PushTask, ctx: RunContext, fill: Callable[[Path, Path], None], message: str
) -> Pushed:
    """Check out the branch, ``fill(checkout, folder)`` the task's ``gitDirectory``, then
    commit (with ``message`` unless ``commitMessage`` is set) and push what changed."""
    branch = props.text(ctx, task.branch)
    with Remote(task, ctx) as remote:
        checkout = remote.scratch / "repo"
        exists = remote.has_branch(branch)
        clone(remote, checkout, CloneOptions(branch=branch if exists else None, all_branches=False))
        if not exists:
            remote.git(["checkout", "-b", branch], checkout, "Creating the branch of")
        fill(checkout, inside(checkout, props.text(ctx, task.gitDirectory), "gitDirectory"))
        remote.git(["add", "--all", "."], checkout, "Staging the changes for")
        status = remote.git(
            ["-c", "core.quotePath=false", "status", "--porcelain", "--no-renames"],
            checkout,
            "Reading the changes of",
            quiet=True,
        )
        pushed = Pushed(changes=[_change(line) for line in status if line.strip()])
        pushed.lines = _line_counts(remote, checkout)
        if props.boolean(ctx, task.dryRun) or not pushed.changes:
            count = len(pushed.changes)
            ctx.info("Nothing to push" if not count else f"Dry run: {count} change(s) not pushed")
            return pushed
        pushed.commit = _commit(task, ctx, remote, checkout, message)
        remote.git(["push", remote.url, f"HEAD:refs/heads/{branch}"], checkout, "Pushing to")
        pushed.commit_url = commit_url(remote.url, branch, pushed.commit)
    ctx.info(f"Pushed {len(pushed.changes)} change(s) to {branch} as {pushed.commit}")
    return pushed


def inside(root: Path, relative: str, name: str) -> Path:
    """``root / relative``, refused when it would lie outside ``root``."""
    path = (root / relative.lstrip("/")).resolve()
    if not path.is_relative_to(root.resolve()):
        raise TaskFailed(f"'{name}' must be a path inside the repository, got {relative}")
    return path


def diff_file(ctx: RunContext, rows: list[dict[str, str]]) -> str:
    """An Ion file of ``rows`` in internal storage; its URI."""
    return ctx.put_file("diff.ion", "".join(to_ion(row) + "\n" for row in rows).encode())


def commit_url(url: str, branch: str, commit: str) -> str | None:
    """Where a web page shows ``commit``, as Kestra builds it for an http(s) or ssh URL."""
    scp = _SCP_LIKE.match(url)
    if scp and "://" not in url:
        url = f"https://{scp.group(1)}/{scp.group(2)}"
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "ssh":
        parts = parts._replace(scheme="https", netloc=parts.hostname or "")
    if parts.scheme not in ("http", "https"):
        return None
    base = urllib.parse.urlunsplit(parts._replace(query="", fragment="")).removesuffix(".git")
    found = f"{base}/{'commits' if 'bitbucket.org' in base else 'commit'}/{commit}"
    if "azure.com" in base:
        found += "?refName=refs%2Fheads%2F" + urllib.parse.quote(branch, safe="")
    return found


def _change(line: str) -> dict[str, str]:
    code, path = line[:2].strip(), line[3:].strip()
    state = {"A": "ADDED", "M": "MODIFIED", "D": "DELETED"}.get(code[:1], code)
    return {"gitPath": path, "syncState": state}


def _line_counts(remote: Remote, checkout: Path) -> list[dict[str, str]]:
    """Kestra's diff rows of the staged changes (see the module's docstring)."""
    args = ["-c", "core.quotePath=false", "diff", "--cached", "--no-color", "--no-ext-diff"]
    args += ["--no-renames", "-U0"]
    lines = remote.git(args, checkout, "Reading the changes of", quiet=True)
    counts: dict[str, list[int]] = {}
    old_path = current = ""
    for line in lines:
        if line.startswith("--- "):
            old_path = line[4:].removeprefix("a/")
        elif line.startswith("+++ "):
            new_path = line[4:]
            current = old_path if new_path == "/dev/null" else new_path.removeprefix("b/")
            counts.setdefault(current, [0, 0, 0])
        elif line.startswith("diff --git "):
            current = _header_path(line)
            counts.setdefault(current, [0, 0, 0])
        elif (hunk := _HUNK.match(line)) and current:
            before = int(hunk.group(1) or 1)
            after = int(hunk.group(2) or 1)
            tally = counts[current]
            if after > before:
                tally[0] += after - before
            elif after < before:
                tally[1] += before - after
            else:
                tally[2] += after
    return [
        {"file": path, "additions": f"+{a}", "deletions": f"-{d}", "changes": str(c)}
        for path, (a, d, c) in sorted(counts.items())
    ]


def _header_path(line: str) -> str:
    """The path a ``diff --git a/x b/x`` header names (a binary file, or one whose mode alone
    changed, has no ---/+++ lines)."""
    _, _, new = line.partition(" b/")
    return new


def _commit(task: PushTask, ctx: RunContext, remote: Remote, checkout: Path, msg: str) -> str:
    message = props.optional_text(ctx, task.commitMessage) or msg
    name = (
        props.optional_text(ctx, task.authorName)
        or props.optional_text(ctx, task.username)
        or "Weir"
    )
    email = props.optional_text(ctx, task.authorEmail) or "weir@localhost"
    identity = ["-c", f"user.name={name}", "-c", f"user.email={email}"]
    remote.git([*identity, "commit", "--quiet", "-m", message], checkout, "Committing to")
    (commit,) = remote.git(["rev-parse", "HEAD"], checkout, "Reading the commit of", quiet=True)
    if not commit:
        raise TaskFailed(f"the commit to {remote.url} has no id")
    return commit.strip()
