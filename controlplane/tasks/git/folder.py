"""Reading the synced folder of a checkout: its files without git's own and what
``.kestraignore`` leaves out."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from controlplane.engine.globs import glob_match
from controlplane.engine.runnable import RunContext, TaskFailed
from controlplane.spec.plugins.git import SyncTask
from controlplane.tasks import props

_SKIPPED_NAMES = {".git", ".gitignore", ".gitkeep"}
_IGNORE_FILE = ".kestraignore"


class IgnoreRules:
    """The ``.kestraignore`` of a folder: gitignore patterns, last match wins."""

    def __init__(self, folder: Path) -> None:
        self.rules: list[tuple[bool, bool, bool, str]] = []
        path = folder / _IGNORE_FILE
        lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
        for raw in lines:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            negate = line.startswith("!")
            line = line.removeprefix("!")
            dir_only = line.endswith("/")
            line = line.rstrip("/")
            self.rules.append((negate, dir_only, "/" in line, line.lstrip("/")))

    def ignored(self, relative: str) -> bool:
        parts = relative.split("/")
        return any(
            self._matches("/".join(parts[:i]), i < len(parts)) for i in range(1, len(parts) + 1)
        )

    def _matches(self, path: str, is_dir: bool) -> bool:
        result = False
        for negate, dir_only, anchored, pattern in self.rules:
            if dir_only and not is_dir:
                continue
            if glob_match(pattern, path if anchored else path.rsplit("/", 1)[-1]):
                result = not negate
        return result


def read_folder(
    ctx: RunContext,
    folder: Path,
    max_depth: int | None = None,
    accept: Callable[[str], bool] = lambda relative: True,
) -> dict[str, bytes]:
    """Files of ``folder`` by relative path, without git's own files and what is ignored."""
    rules = IgnoreRules(folder)
    root = folder.resolve()
    found: dict[str, bytes] = {}
    for current, dirs, files in os.walk(folder):
        base = Path(current).relative_to(folder)
        depth = len(base.parts) + 1
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_NAMES)
        if max_depth is not None and depth >= max_depth:
            dirs.clear()
        for name in sorted(files):
            relative = (base / name).as_posix()
            if name in _SKIPPED_NAMES or relative == _IGNORE_FILE or not accept(relative):
                continue
            if rules.ignored(relative):
                continue
            path = Path(current) / name
            if not path.resolve().is_relative_to(root) or not path.is_file():
                ctx.warning(f"{relative} links outside the synced folder, or nowhere: skipped")
                continue
            found[relative] = path.read_bytes()
    return found


def git_folder(ctx: RunContext, root: Path, relative: str, task: SyncTask) -> Path | None:
    folder = (root / relative).resolve()
    if not folder.is_relative_to(root.resolve()):
        raise TaskFailed(f"'gitDirectory' must be a folder inside the repository, got {relative}")
    if not folder.exists():
        if props.boolean(ctx, task.failOnMissingDirectory):
            raise TaskFailed(
                f"The directory '{relative}' was not found in the git repository. Verify that "
                f"the path exists in the branch '{props.text(ctx, task.branch)}'."
            )
        ctx.warning(f"The directory '{relative}' is not in the repository: nothing to sync")
        return None
    if not folder.is_dir():
        raise TaskFailed(f"'gitDirectory' {relative} is a file, not a directory")
    return folder
