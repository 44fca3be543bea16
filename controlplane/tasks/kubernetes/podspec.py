"""What an attempt's Pod looks like, and the files that travel with it.

Files in: every file of the attempt's working directory (namespace files, ``inputFiles``, the
script) goes into the attempt's Secret, mounted read-only at ``/weir-input``; the main
container's wrapper copies them into its working directory, an ``emptyDir`` mounted at the same
path as the worker's working directory, so ``{{ workingDir }}`` means the same place on both
sides. Environment values come from the same Secret (``secretKeyRef``), never from the Pod spec.

Files out: after the command, the wrapper writes the files to collect as a base64 tar.gz between
two marker lines of the container's log, which the worker reads back (see :class:`FileCollector`).
The image needs ``/bin/sh``, ``find``, ``tar`` and ``base64`` (busybox has them) — and nothing at
all when no file goes out.
"""

from __future__ import annotations

import base64
import io
import re
import secrets as random
import tarfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from controlplane.engine.runnable import TaskFailed
from controlplane.tasks.kubernetes.api import Obj

INPUT_DIR = "/weir-input"
MAIN = "main"
SECRET_LIMIT = 1_000_000  # the API server refuses Secrets over 1 MiB
BEGIN, END = "::weir-files::begin", "::weir-files::end"
STAMP = ".weir-started"
MANAGED = {"app.kubernetes.io/managed-by": "weir"}

# $1.. are the command. WEIR_COLLECT: "" (nothing), "dir" (the output dir), "all" (every file
# the command wrote or changed).
WRAPPER = r"""
set -u
mkdir -p "$WORKING_DIR" "$OUTPUT_DIR"
if [ -d "$WEIR_INPUT_DIR" ]; then
  (cd "$WEIR_INPUT_DIR" && find -L . -mindepth 1 -name '..*' -prune -o -type f -print) |
  while IFS= read -r f; do
    mkdir -p "$WORKING_DIR/$(dirname "$f")" && cp "$WEIR_INPUT_DIR/$f" "$WORKING_DIR/$f"
  done
fi
touch "$WORKING_DIR/.weir-started"
cd "$WORKING_DIR"
"$@"
code=$?
cd "$WORKING_DIR"
list="$WORKING_DIR/.weir-files"
case "${WEIR_COLLECT:-}" in
  all) find . -type f -newer .weir-started ! -name .weir-started ! -name .weir-files > "$list" ;;
  dir) find "./$WEIR_OUTPUT_NAME" -type f > "$list" ;;
  *) : > "$list" ;;
esac
if [ -s "$list" ]; then
  echo "::weir-files::begin"
  tar czf - -T "$list" | base64
  echo "::weir-files::end"
fi
exit $code
"""


def pod_name(task_id: str) -> str:
    stem = re.sub(r"[^a-z0-9-]+", "-", task_id.lower()).strip("-")[:40] or "task"
    return f"weir-{stem}-{random.token_hex(4)}"


def label_value(value: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "-", value)[:63]
    return cleaned.strip("-_.") or "x"


def working_files(workdir: Path) -> dict[str, bytes]:
    return {
        p.relative_to(workdir).as_posix(): p.read_bytes()
        for p in sorted(workdir.rglob("*"))
        if p.is_file()
    }


def attempt_secret(
    name: str, namespace: str, labels: Mapping[str, str], env: Mapping[str, str],
    files: Mapping[str, bytes], task_id: str,
) -> tuple[Obj, list[Obj], list[Obj]]:  # fmt: skip
    """The Secret holding env values and input files, its env references and volume items."""
    data: dict[str, str] = {}
    env_refs: list[Obj] = []
    items: list[Obj] = []
    for index, (key, value) in enumerate(env.items()):
        data[f"env-{index}"] = base64.b64encode(value.encode()).decode()
        ref = {"secretKeyRef": {"name": name, "key": f"env-{index}"}}
        env_refs.append({"name": key, "valueFrom": ref})
    for index, (relative, content) in enumerate(files.items()):
        data[f"file-{index}"] = base64.b64encode(content).decode()
        items.append({"key": f"file-{index}", "path": relative})
    size = sum(len(v) for v in data.values())
    if size > SECRET_LIMIT:
        raise TaskFailed(
            f"The files and environment of task '{task_id}' take {size} bytes once encoded, more "
            f"than a Kubernetes Secret holds ({SECRET_LIMIT}): pass large data by URL or object "
            "storage and download it in the script"
        )
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
        "data": data,
    }
    return secret, env_refs, items


def wrap(command: list[str]) -> list[str]:
    return ["/bin/sh", "-c", WRAPPER, "weir", *command]


def wrapper_env(workdir: str, output_name: str, collect: str) -> list[Obj]:
    values = {
        "WORKING_DIR": workdir,
        "OUTPUT_DIR": f"{workdir}/{output_name}",
        "WEIR_INPUT_DIR": INPUT_DIR,
        "WEIR_OUTPUT_NAME": output_name,
        "WEIR_COLLECT": collect,
    }
    return [{"name": k, "value": v} for k, v in values.items()]


def file_volumes(secret: str, items: list[Obj], workdir: str) -> tuple[list[Obj], list[Obj]]:
    """The volumes of the working directory and the input files, and their mounts."""
    volumes: list[Obj] = [{"name": "weir-work", "emptyDir": {}}]
    mounts: list[Obj] = [{"name": "weir-work", "mountPath": workdir}]
    if items:
        volumes.append({"name": "weir-input", "secret": {"secretName": secret, "items": items}})
        mounts.append({"name": "weir-input", "mountPath": INPUT_DIR, "readOnly": True})
    return volumes, mounts


class FileCollector:
    """Takes the file archive out of the log stream; passes every other line on."""

    def __init__(self, on_line: Callable[[str], None]) -> None:
        self.on_line = on_line
        self.inside = False
        self.chunks: list[str] = []
        self.received = False

    def __call__(self, line: str) -> None:
        stripped = line.strip()
        if stripped == BEGIN:
            self.inside, self.chunks = True, []
            return
        if self.inside:
            if stripped == END:
                self.inside, self.received = False, True
            else:
                self.chunks.append(stripped)
            return
        self.on_line(line)

    def extract(self, workdir: Path) -> list[str]:
        """Unpack the received files into ``workdir``; their relative paths."""
        if self.inside:
            raise TaskFailed(
                "The output files' archive in the Pod's log has no end: the log was cut, or the "
                f"commands printed '{BEGIN}' themselves"
            )
        if not self.received:
            return []
        archive = base64.b64decode("".join(self.chunks))
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
            members = [m for m in tar.getmembers() if m.isfile()]
            tar.extractall(workdir, members=members, filter="data")
        return [m.name.removeprefix("./") for m in members]


def resources(spec: Mapping[str, Any] | None) -> Obj:
    if not spec:
        return {}
    out: Obj = {}
    if spec.get("request"):
        out["requests"] = dict(spec["request"])
    if spec.get("limit"):
        out["limits"] = dict(spec["limit"])
    return out
