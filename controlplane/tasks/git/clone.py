"""The Clone task: a clone of a branch, commit or tag into the working directory."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from controlplane.engine.runnable import RunContext, TaskFailed, runs
from controlplane.spec.plugins.git import Clone
from controlplane.tasks import props
from controlplane.tasks.git.remote import CloneOptions, Remote, clone


@runs(Clone)
def run_clone(task: Clone, ctx: RunContext) -> dict[str, Any]:
    workdir = ctx.working_dir.resolve()
    target = workdir
    if task.directory is not None:
        target = (workdir / props.text(ctx, task.directory)).resolve()
        if not target.is_relative_to(workdir):
            raise TaskFailed("'directory' must be a folder inside the working directory")
    options = CloneOptions(
        branch=props.optional_text(ctx, task.branch) or None,
        depth=props.integer(ctx, task.depth, "depth"),
        commit=props.optional_text(ctx, task.commit) or None,
        tag=props.optional_text(ctx, task.tag) or None,
        all_branches=props.boolean(ctx, task.cloneAllBranches),
        no_tags=props.boolean(ctx, task.noTags),
    )
    if not options.all_branches and not options.branch:
        raise TaskFailed("'branch' is required when 'cloneAllBranches' is false")
    if options.tag and options.no_tags:
        raise TaskFailed("'tag' cannot be used with 'noTags: true'")
    if options.depth < 1:
        raise TaskFailed(f"'depth' must be 1 or more, got {options.depth}")
    with Remote(task, ctx) as remote:
        ctx.info(f"Start cloning from '{remote.url}'")
        clone(remote, target, options)
        _apply_config(remote, target, props.mapping(ctx, task.gitConfig, "gitConfig"))
    return {"directory": str(target)}


def _apply_config(remote: Remote, target: Path, config: Mapping[str, Any]) -> None:
    for key, value in config.items():
        if "." not in key.strip("."):
            remote.ctx.warning(f"gitConfig key '{key}' is not 'section.name': ignored")
            continue
        if value is None or (isinstance(value, str) and not value.strip()):
            remote.git(["config", "--unset-all", key], target, f"Unsetting {key} of", True, ok=5)
            continue
        values = value if isinstance(value, list) else [value]
        for index, item in enumerate(values):
            text = json.dumps(item) if isinstance(item, bool) else str(item).strip()
            verb = "--replace-all" if index == 0 else "--add"
            remote.git(["config", verb, key, text], target, f"Setting {key} of", True)
        remote.ctx.info(f"Applied git config {key} = {value}")
