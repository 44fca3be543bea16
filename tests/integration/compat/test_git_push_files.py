"""git.PushNamespaceFiles against a real bare repository served over smart HTTP with basic auth,
on the shape of kestra-io/blueprints' ``push-to-git`` and ``git-flows-files-kv-sync-to-gitlab``
flows: a dry run describes the changes and pushes nothing; a push commits the files the globs
choose (minus what ``.kestraignore`` names), deletes what the namespace no longer has, and a
second push with nothing changed commits nothing."""

from __future__ import annotations

from pathlib import Path

from controlplane.engine.control import StoreControlPlane
from controlplane.engine.model import State
from controlplane.tasks.ion_text import read_values
from tests.integration.compat.conftest import Flows
from tests.integration.tasks.test_git import (  # noqa: F401  (fixtures)
    TOKEN,
    Repo,
    git,
    http_git,
    repo,
)

NAMESPACE_FILES = {
    "scripts/etl.py": b"print('v2')\n",
    "scripts/util.py": b"def helper():\n    return 1\n",
    "data/fruits.csv": b"fruit\napple\n",
    "notes.md": b"# notes\n",
}


def _task(task_id: str, url: str, **extra: str | bool) -> str:
    lines = [
        f"  - id: {task_id}",
        "    type: io.kestra.plugin.git.PushNamespaceFiles",
        f"    url: {url}",
        "    username: bot",
        "    password: \"{{ secret('GITHUB_ACCESS_TOKEN') }}\"",
        "    gitDirectory: _files",
    ]
    lines += [f"    {key}: {value if isinstance(value, str) else str(value).lower()}" for key, value in extra.items()]  # fmt: skip
    return "\n".join(lines) + "\n"


def _diff(flows: Flows, uri: str) -> dict[str, dict[str, str]]:
    with flows.store.files.open(uri) as stream:
        rows = list(read_values(stream.read().decode()))
    return {row["file"]: row for row in rows}


def test_push_namespace_files_commits_the_chosen_files_and_deletes_stale_ones(
    flows: Flows,
    repo: Repo,  # noqa: F811
    http_git: tuple[str, list[str]],  # noqa: F811
    tmp_path: Path,
) -> None:
    url, _ = http_git
    repo.commit(
        {
            "README.md": "scripts\n",
            "_files/.kestraignore": "*.csv\n",
            "_files/scripts/etl.py": "print('v1')\n",
            "_files/scripts/gone.py": "print('old')\n",
            "_files/kept.txt": "not chosen by the globs\n",
        }
    )
    before = git("rev-parse", "HEAD", cwd=repo.work)
    with flows.store.unit() as repos:
        repos.secrets.update_secret("company.team", "GITHUB_ACCESS_TOKEN", TOKEN)
    control = StoreControlPlane(flows.store)
    for path, data in NAMESPACE_FILES.items():
        control.save_file("company.team", path, data, None)
    globs = '["scripts/**", "notes.md", "data/*"]'
    final = flows.run(
        "id: push-to-git\nnamespace: company.team\ntasks:\n"
        + _task("dry_run", url, dryRun=True, files=f"'{globs}'")
        + _task(
            "push_namespace_files",
            url,
            files='["scripts/**", notes.md, "data/*"]',
            commitMessage="add namespace files {{ flow.id }}",
            authorName="Kestra Bot",
            authorEmail="bot@example.com",
        )
        + _task("again", url, files=f"'{globs}'")
    )
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    outputs = {r.task_id: r.outputs for r in final.task_runs}

    dry = outputs["dry_run"]
    assert dry["commitId"] is None and dry["commitURL"] is None
    planned = _diff(flows, dry["files"])
    assert set(planned) == {
        "_files/notes.md",
        "_files/scripts/etl.py",
        "_files/scripts/gone.py",
        "_files/scripts/util.py",
    }

    pushed = outputs["push_namespace_files"]
    commit = pushed["commitId"]
    assert pushed["commitURL"] == f"{url.removesuffix('.git')}/commit/{commit}"
    assert _diff(flows, pushed["files"]) == {
        "_files/notes.md": {"file": "_files/notes.md", "additions": "+1", "deletions": "-0", "changes": "0"},
        "_files/scripts/etl.py": {"file": "_files/scripts/etl.py", "additions": "+0", "deletions": "-0", "changes": "1"},
        "_files/scripts/gone.py": {"file": "_files/scripts/gone.py", "additions": "+0", "deletions": "-1", "changes": "0"},
        "_files/scripts/util.py": {"file": "_files/scripts/util.py", "additions": "+2", "deletions": "-0", "changes": "0"},
    }  # fmt: skip

    clone = tmp_path / "check"
    git("clone", "-q", repo.bare.as_uri(), str(clone), cwd=tmp_path)
    assert git("rev-parse", "HEAD", cwd=clone) == commit
    assert git("rev-parse", "HEAD~1", cwd=clone) == before
    assert git("log", "-1", "--format=%s|%an|%ae", cwd=clone) == (
        "add namespace files push-to-git|Kestra Bot|bot@example.com"
    )
    files = clone / "_files"
    assert (files / "scripts" / "etl.py").read_bytes() == NAMESPACE_FILES["scripts/etl.py"]
    assert (files / "scripts" / "util.py").read_bytes() == NAMESPACE_FILES["scripts/util.py"]
    assert (files / "notes.md").read_bytes() == NAMESPACE_FILES["notes.md"]
    assert not (files / "scripts" / "gone.py").exists()
    assert not (files / "data").exists()  # *.csv is in the folder's .kestraignore
    assert (files / "kept.txt").exists() and (clone / "README.md").exists()

    assert outputs["again"]["commitId"] is None
    assert "Nothing to push" in flows.logs(final)
    assert TOKEN not in " ".join(flows.logs(final))
