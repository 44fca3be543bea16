"""One Pod's life for one attempt: create it (and its Secret), follow it to its end, delete it.

Everything goes through the API server and nothing else: the Pod's state through a watch, its
output through the log endpoint (``pods/log``, which the API server proxies from the kubelet),
with follow. No exec and no port-forward: the ServiceAccount needs only ``pods`` and
``pods/log``, plus ``secrets`` for the attempt's Secret.

Kill and timeout delete the Pod with propagation Background (the attempt's Secret, owned by the
Pod, goes with it). A Pod evicted, deleted by someone else or lost with its node fails the
attempt, which the task's retry policy may run again.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from controlplane.engine.runnable import RunContext, TaskFailed, TaskKilled
from controlplane.spec.durations import format_duration
from controlplane.tasks.kubernetes.api import Kube, KubeError, Obj, path

_ENDED = ("Succeeded", "Failed")
_REFOLLOWS = 20
_RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


@dataclass
class PodPlan:
    namespace: str
    pod: Obj
    secret: Obj | None
    container: str
    selector: str
    delete: bool = True
    resume: bool = True
    wait_running: timedelta = timedelta(minutes=10)
    wait_completion: timedelta | None = None

    @property
    def name(self) -> str:
        return str(self.pod["metadata"]["name"])


@dataclass
class _Watchdog:
    """Deletes the Pod when the attempt is killed or overruns; the watch then sees it go."""

    kube: Kube
    ctx: RunContext
    pod_path: str
    done: threading.Event = field(default_factory=threading.Event)
    overdue: bool = False
    deadline: float | None = None

    def start(self) -> None:
        threading.Thread(target=self._run, name="weir-pod-watchdog", daemon=True).start()

    def _run(self) -> None:
        while not self.done.is_set():
            wait = 0.5 if self.deadline is None else min(0.5, self.deadline - time.monotonic())
            if self.ctx.cancelled.wait(max(wait, 0)):
                break
            if self.deadline is not None and time.monotonic() >= self.deadline:
                self.overdue = True
                break
        if self.done.is_set():
            return
        try:
            self.kube.delete(self.pod_path)
        except KubeError as exc:
            self.ctx.warning(f"Could not delete the Pod: {exc}")


def run_pod(kube: Kube, ctx: RunContext, plan: PodPlan, on_line: Callable[[str], None]) -> Obj:
    """Run the plan's Pod to its end and return it as last seen; logs go to ``on_line``."""
    pod_path = path(plan.namespace, "pods", plan.name)
    pod = _resumed(kube, ctx, plan)
    if pod is None:
        pod = _create(kube, ctx, plan)
        pod_path = path(plan.namespace, "pods", plan.name)
    dog = _Watchdog(kube, ctx, pod_path)
    dog.start()
    try:
        started = _started(plan.container)
        pod = _wait(kube, ctx, plan, pod, started, plan.wait_running, "start")
        if plan.wait_completion is not None:
            dog.deadline = time.monotonic() + plan.wait_completion.total_seconds()
        _follow(kube, ctx, plan, on_line)
        pod = _wait(kube, ctx, plan, pod, _is_ended, None, "end", dog)
    finally:
        dog.done.set()
        if plan.delete or ctx.cancelled.is_set() or dog.overdue:
            _cleanup(kube, ctx, plan)
    return pod


def _resumed(kube: Kube, ctx: RunContext, plan: PodPlan) -> Obj | None:
    if not plan.resume:
        return None
    found = kube.get(path(plan.namespace, "pods"), {"labelSelector": plan.selector})["items"]
    alive = [p for p in found if not p["metadata"].get("deletionTimestamp")]
    if len(alive) != 1:
        return None
    pod: Obj = alive[0]
    plan.pod["metadata"]["name"] = pod["metadata"]["name"]
    ctx.info(f"Resuming the Pod {plan.namespace}/{plan.name} of this attempt")
    return pod


def _create(kube: Kube, ctx: RunContext, plan: PodPlan) -> Obj:
    secret_path = None
    if plan.secret is not None:
        kube.request("POST", path(plan.namespace, "secrets"), body=plan.secret)
        secret_path = path(plan.namespace, "secrets", plan.secret["metadata"]["name"])
    try:
        pod: Obj = kube.request("POST", path(plan.namespace, "pods"), body=plan.pod)
    except KubeError:
        if secret_path is not None:
            kube.delete(secret_path)
        raise
    if secret_path is not None:
        owner = {
            "apiVersion": "v1",
            "kind": "Pod",
            "name": plan.name,
            "uid": pod["metadata"]["uid"],
        }
        patch = {"metadata": {"ownerReferences": [owner]}}
        kube.request("PATCH", secret_path, body=patch, content_type="application/merge-patch+json")
    ctx.info(f"Created the Pod {plan.namespace}/{plan.name} on {kube.server}")
    return pod


def _cleanup(kube: Kube, ctx: RunContext, plan: PodPlan) -> None:
    try:
        kube.delete(path(plan.namespace, "pods", plan.name))
        if plan.secret is not None:
            kube.delete(path(plan.namespace, "secrets", plan.secret["metadata"]["name"]))
    except KubeError as exc:
        ctx.warning(f"Could not delete the Pod {plan.namespace}/{plan.name}: {exc}")


def _started(container: str) -> Callable[[Obj], bool]:
    """Whether the Pod ended, or ``container`` runs or ran (its log can be read)."""

    def started(pod: Obj) -> bool:
        status = pod.get("status") or {}
        if status.get("phase") in _ENDED:
            return True
        for entry in status.get("containerStatuses") or []:
            state = entry.get("state") or {}
            if entry.get("name") == container and ("running" in state or "terminated" in state):
                return True
        return False

    return started


def _is_ended(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in _ENDED


def _wait(
    kube: Kube,
    ctx: RunContext,
    plan: PodPlan,
    pod: Obj,
    until: Callable[[Obj], bool],
    limit: timedelta | None,
    what: str,
    dog: _Watchdog | None = None,
) -> Obj:
    """Watch the Pod until ``until(pod)``; a kill, a deletion or ``limit`` ends the wait."""
    deadline = None if limit is None else time.monotonic() + limit.total_seconds()
    pods = path(plan.namespace, "pods")
    query: dict[str, Any] = {"fieldSelector": f"metadata.name={plan.name}"}
    while True:
        _check(ctx, plan, pod, dog)
        if until(pod):
            return pod
        left = 60.0 if deadline is None else deadline - time.monotonic()
        if left <= 0:
            raise TaskFailed(
                f"The Pod {plan.namespace}/{plan.name} did not {what} within "
                f"{format_duration(limit or timedelta())} ({_why(pod)}); raise waitUntilRunning "
                "or check that the cluster can schedule it and pull its image"
            )
        rv = pod["metadata"].get("resourceVersion")
        try:
            for kind, seen in kube.watch(
                pods, {**query, "resourceVersion": rv}, int(min(left, 60))
            ):
                if kind == "DELETED":
                    _check(ctx, plan, seen, dog)
                    raise _gone(plan)
                if kind in ("ADDED", "MODIFIED"):
                    pod = seen
                    if until(pod) or ctx.cancelled.is_set() or _evicted(pod):
                        break
        except KubeError as exc:
            if exc.status != 410:  # 410 Gone: the version is too old, read the Pod again
                raise
        fresh = kube.find(path(plan.namespace, "pods", plan.name))
        if fresh is None:
            _check(ctx, plan, pod, dog)
            raise _gone(plan)
        pod = fresh


def _check(ctx: RunContext, plan: PodPlan, pod: Obj, dog: _Watchdog | None) -> None:
    if ctx.cancelled.is_set():
        raise TaskKilled(f"the Pod {plan.namespace}/{plan.name} was deleted")
    if dog is not None and dog.overdue and plan.wait_completion is not None:
        raise TaskFailed(
            f"The Pod {plan.namespace}/{plan.name} did not end within "
            f"{format_duration(plan.wait_completion)} (waitUntilCompletion); it was deleted"
        )
    if _evicted(pod):
        status = pod.get("status") or {}
        raise TaskFailed(
            f"The Pod {plan.namespace}/{plan.name} was evicted from its node "
            f"({status.get('message') or status.get('reason')}); the task's retry policy decides "
            "whether it runs again"
        )


def _evicted(pod: Obj) -> bool:
    status = pod.get("status") or {}
    return status.get("phase") == "Failed" and status.get("reason") in ("Evicted", "NodeLost")


def _gone(plan: PodPlan) -> TaskFailed:
    return TaskFailed(
        f"The Pod {plan.namespace}/{plan.name} was deleted before it ended (by someone else, or "
        "with its node); the task's retry policy decides whether it runs again"
    )


def _why(pod: Obj) -> str:
    status = pod.get("status") or {}
    for condition in status.get("conditions") or []:
        if condition.get("status") == "False" and condition.get("message"):
            return str(condition["message"])
    for container in status.get("containerStatuses") or []:
        waiting = (container.get("state") or {}).get("waiting") or {}
        if waiting.get("reason"):
            return f"{waiting['reason']}: {waiting.get('message', '')}".rstrip(": ")
    return f"phase {status.get('phase', 'Pending')}"


def _follow(kube: Kube, ctx: RunContext, plan: PodPlan, on_line: Callable[[str], None]) -> None:
    """Every line the container writes, as it writes it, until it ends (or the Pod goes).

    A stream that ends while the container still runs (a connection dropped by the API server,
    a proxy or the kubelet) is followed again from the time of its last line, by the
    timestamps the kubelet puts on each line; the lines seen already are skipped.
    """
    log_path = path(plan.namespace, "pods", plan.name) + "/log"
    last, ended = "", False
    for _ in range(_REFOLLOWS):
        query: dict[str, Any] = {"container": plan.container, "follow": True, "timestamps": True}
        if last:
            query["sinceTime"] = last[:19] + "Z"
        try:
            for raw in kube.stream(log_path, query):
                stamp, line = _stamped(raw.decode("utf-8", errors="replace").rstrip("\r"))
                if stamp and stamp <= last:
                    continue
                last = stamp or last
                on_line(line)
        except KubeError as exc:
            if exc.status not in (400, 404):
                raise
            if not ctx.cancelled.is_set():  # a kill deletes the Pod: its log goes with it
                ctx.warning(f"The log of the Pod {plan.namespace}/{plan.name} ended early: {exc}")
            return
        state = _state(kube, plan)
        if ctx.cancelled.is_set() or state is None or (state == "terminated" and ended):
            return
        # Once more after the end too: the stream may have been cut just before it.
        ended = state == "terminated"
        ctx.debug(f"Following the log of the Pod {plan.namespace}/{plan.name} again")
        ctx.cancelled.wait(0.2 if not ended else 0)
    ctx.warning(f"The log of the Pod {plan.namespace}/{plan.name} was cut {_REFOLLOWS} times")


def _stamped(text: str) -> tuple[str, str]:
    """A log line's timestamp, normalised to nanoseconds so that text order is time order."""
    stamp, _, line = text.partition(" ")
    if not _RFC3339.match(stamp):
        return "", text
    seconds, _, fraction = stamp.rstrip("Z").partition(".")
    return f"{seconds}.{fraction:0<9}", line


def _state(kube: Kube, plan: PodPlan) -> str | None:
    """ "running" or "terminated" for the main container; None when the Pod is gone."""
    pod = kube.find(path(plan.namespace, "pods", plan.name))
    if pod is None:
        return None
    if (pod.get("status") or {}).get("phase") in _ENDED:
        return "terminated"
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        if status.get("name") == plan.container and "terminated" in (status.get("state") or {}):
            return "terminated"
    return "running"


def exit_code(pod: Obj, container: str) -> int | None:
    """The exit code of ``container``, None when it did not terminate."""
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        if status.get("name") == container:
            terminated = (status.get("state") or {}).get("terminated")
            if terminated is not None:
                return int(terminated.get("exitCode", -1))
    return None
