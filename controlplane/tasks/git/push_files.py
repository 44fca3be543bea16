"""PushNamespaceFiles: the files of a namespace written to ``gitDirectory`` of a branch, committed
and pushed.

``files`` globs choose the files by their path in the namespace (all of them without it); a
glob that starts with a name may match at any depth, as in Kestra (``*.py`` is ``**/*.py``).
Each file goes to ``<gitDirectory>/<its path>``. The folder's ``.kestraignore`` (the
repository's, or one among the files pushed) keeps the files it names out of the commit. With
``delete`` (the default), the files of the folder that the namespace no longer has are removed,
only those the globs match when there are globs. The ``files`` output is Kestra's diff file:
one row per file with its lines added, deleted and changed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from controlplane.engine.globs import glob_match
from controlplane.engine.runnable import RunContext, TaskFailed, runs
from controlplane.spec.plugins.git import PushNamespaceFiles
from controlplane.tasks import props
from controlplane.tasks.git.folder import IgnoreRules, read_folder
from controlplane.tasks.git.pushing import diff_file, inside, push

_IGNORE_FILE = ".kestraignore"
_STARTS_WITH_NAME = re.compile(r"^\w")


def _selected(globs: list[str], path: str) -> bool:
    return not globs or any(
        glob_match(f"**/{g}" if _STARTS_WITH_NAME.match(g) else g, path) for g in globs
    )


def _stale(globs: list[str], git_path: str, relative: str) -> bool:
    """Whether a file of the folder that the namespace does not have is the push's to delete:
    any without globs, else one whose path (in the repository or the folder), name or name
    without extension a glob matches."""
    if not globs:
        return True
    name = relative.rsplit("/", 1)[-1]
    stem = name.rsplit(".", 1)[0] if "." in name[1:] else name
    return any(glob_match(g, c) for g in globs for c in (git_path, relative, name, stem))


@runs(PushNamespaceFiles)
def run_push_namespace_files(task: PushNamespaceFiles, ctx: RunContext) -> dict[str, Any]:
    namespace = props.text(ctx, task.namespace)
    globs = props.string_list(ctx, task.files, "files")
    paths = sorted(
        record.path.lstrip("/")
        for record in ctx.control.list_files(namespace)
        if _selected(globs, record.path.lstrip("/"))
    )
    if not paths:
        if props.boolean(ctx, task.errorOnMissing):
            raise TaskFailed("No namespace files matched the provided 'files' parameter to commit")
        ctx.info(f"No namespace files of {namespace} to push: skipping git")
        return {"commitId": None, "commitURL": None, "files": None}
    delete = props.boolean(ctx, task.delete)

    def fill(checkout: Path, folder: Path) -> None:
        contents = {path: _read(ctx, namespace, path) for path in paths}
        if _IGNORE_FILE in contents:
            _write(folder, _IGNORE_FILE, contents[_IGNORE_FILE])
        rules = IgnoreRules(folder)
        kept = {p: data for p, data in contents.items() if not rules.ignored(p)}
        for path, data in kept.items():
            _write(folder, path, data)
        if not delete or not folder.is_dir():
            return
        for relative in read_folder(ctx, folder):
            git_path = (folder / relative).relative_to(checkout.resolve()).as_posix()
            if relative not in kept and _stale(globs, git_path, relative):
                (folder / relative).unlink()

    pushed = push(task, ctx, fill, f"Add files from {namespace} namespace")
    return {
        "commitId": pushed.commit,
        "commitURL": pushed.commit_url,
        "files": diff_file(ctx, pushed.lines),
    }


def _read(ctx: RunContext, namespace: str, path: str) -> bytes:
    data = ctx.control.read_file(namespace, path)
    if data is None:
        raise TaskFailed(f"The namespace file {path} of {namespace} is gone: nothing was pushed")
    return data


def _write(folder: Path, relative: str, data: bytes) -> None:
    target = inside(folder, relative, "files")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
