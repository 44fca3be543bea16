"""Fetch: the source as files on disk, and the commit they are.

A source is a directory (taken as it is; its commit is recorded when it lies in a git work
tree), or a git URL (or a local repository) and a ref, cloned once into a cache directory and
fetched again on each call. Credentials written in a URL never appear in a message.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from controlplane.gitops.errors import Stalled, Transient

_CREDENTIALS = re.compile(r"(?<=://)[^/@]+@")
_UNREACHABLE = ("could not resolve host", "connection refused", "timed out", "unable to access")


@dataclass(frozen=True)
class Checkout:
    root: Path
    """The directory holding the desired state (``weir.yaml``, ``namespaces/``)."""
    location: str
    """What was asked for, credentials removed."""
    ref: str | None
    commit: str | None
    """The commit the files are; None for a directory outside git."""
    dirty: bool = False
    """A work tree with changes not committed: the files, not ``commit``, are applied."""

    @property
    def revision(self) -> str:
        if self.commit is None:
            return "(not in git)"
        return self.commit[:12] + ("+changes" if self.dirty else "")


def redact(text: str) -> str:
    return _CREDENTIALS.sub("***@", text)


def fetch(
    location: str, ref: str | None = None, *, path: str = "", cache: Path | None = None
) -> Checkout:
    """The source at ``location`` (and ``ref``), with ``path`` inside it as the root."""
    import git

    local = Path(location).expanduser()
    if ref is None and local.is_dir():
        root = _inside(local, path)
        try:
            repo = git.Repo(local, search_parent_directories=True)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            return Checkout(root, str(local), None, None)
        if not repo.head.is_valid():
            return Checkout(root, str(local), None, None, dirty=True)
        dirty = repo.is_dirty(untracked_files=True, path=str(root))
        return Checkout(root, str(local), None, repo.head.commit.hexsha, dirty)
    return _clone(location, ref or "HEAD", path, cache)


def _clone(location: str, ref: str, path: str, cache: Path | None) -> Checkout:
    import git

    shown = redact(location)
    where = cache or Path(os.environ.get("WEIR_GITOPS_CACHE") or tempfile.gettempdir())
    target = where / ("weir-gitops-" + hashlib.sha256(location.encode()).hexdigest()[:16])
    url = str(Path(location).expanduser().resolve()) if Path(location).is_dir() else location
    try:
        repo = git.Repo(target) if (target / ".git").is_dir() else git.Repo.init(target)
        # Never wait on a password prompt: a server started from a terminal would hang.
        repo.git.update_environment(GIT_TERMINAL_PROMPT="0")
        if "origin" in [r.name for r in repo.remotes]:
            repo.remotes.origin.set_url(url)
        else:
            repo.create_remote("origin", url)
        repo.git.fetch("origin", ref, "--depth=1", "--no-tags", "--force")
        repo.git.checkout("--force", "--detach", "FETCH_HEAD")
        repo.git.clean("-fdx")
        commit = repo.head.commit.hexsha
    except git.GitCommandError as error:
        detail = redact(str(error.stderr or error).strip()).replace("\n", " ")
        if any(word in detail.lower() for word in _UNREACHABLE):
            raise Transient(f"cannot fetch {shown}: {detail}") from None
        raise Stalled(f"cannot fetch {ref} of {shown}: {detail}", "FetchFailed") from None
    return Checkout(_inside(target, path), shown, ref, commit)


def _inside(root: Path, path: str) -> Path:
    found = (root / path).resolve() if path else root.resolve()
    if path and not found.is_relative_to(root.resolve()):
        raise Stalled(f"path {path!r} leaves the repository", "InvalidPath")
    if not found.is_dir():
        raise Stalled(f"{path or str(root)!r} is not a directory of the source", "InvalidPath")
    return found
