"""Reconcile (``io.weir.gitops.Reconcile``): one run of the GitOps reconciler from inside a flow.

The task calls :func:`controlplane.gitops.reconcile.reconcile`, which fetches the repository into
the attempt's working directory, plans against the server named by ``server`` through its HTTP
API, applies and records the outcome there. Not ready (an invalid file, a conflict with another
manager, an unreachable server) fails the task with the summary line, outputs kept.

Credentials: ``username``/``password`` of an https repository are written into the URL handed
to the reconciler, which removes them from every message; the task also blanks them (and the
API ``token``, and any user-info already in ``url``) from every log line, message and output.
The git clone lives in the attempt's working directory, removed when the attempt ends. Without
``token`` no Authorization header is sent: the worker's own ``WEIR_TOKEN`` is never borrowed.

The reconcile runs on a thread of its own while the task watches for a kill or a timeout: the
task then stops at once, and the writes of the reconcile already under way finish on their own
(each is conditional on the revision it read, so nothing is overwritten blindly).
"""

from __future__ import annotations

import threading
import urllib.parse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from controlplane.engine.runnable import RunContext, TaskFailed, TaskKilled, runs
from controlplane.expr import is_truthy
from controlplane.gitops.source import redact
from controlplane.masking import Masker
from controlplane.spec.plugins.gitops import Reconcile
from controlplane.tasks import props

if TYPE_CHECKING:
    from controlplane.gitops.reconcile import Summary

_POLL_SECONDS = 0.05


class _Settings:
    """The rendered properties, and how to speak of them without their secrets."""

    def __init__(self, task: Reconcile, ctx: RunContext) -> None:
        url = props.text(ctx, task.url).strip()
        if not url:
            raise TaskFailed("'url' is required: the git URL or path of the repository")
        self.masker = Masker()
        self.shown = redact(url)
        self.location = self._with_credentials(
            url, props.optional_text(ctx, task.username), props.optional_text(ctx, task.password)
        )
        self.branch = props.optional_text(ctx, task.branch) or None
        self.path = props.text(ctx, task.path).strip().strip("/")
        self.server = props.text(ctx, task.server).strip().rstrip("/")
        if not self.server.lower().startswith(("http://", "https://")):
            raise TaskFailed(
                f"'server' must be the http(s) URL of a Weir server, such as "
                f"http://weir.weir-system.svc.cluster.local:8080, not {self.scrub(self.server)!r}"
            )
        self.token = props.optional_text(ctx, task.token) or ""
        self.masker.add(self.token)
        self.environment = props.optional_text(ctx, task.environment) or None
        self.prune = _optional_boolean(ctx, task.prune)
        self.dry_run = props.boolean(ctx, task.dryRun)

    def _with_credentials(self, url: str, username: str | None, password: str | None) -> str:
        parts = urllib.parse.urlsplit(url)
        if parts.username:
            self.masker.add(parts.netloc.rsplit("@", 1)[0])
            self.masker.add(urllib.parse.unquote(parts.username))
        if parts.password:
            self.masker.add(urllib.parse.unquote(parts.password))
        if username is None and password is None:
            return url
        if parts.scheme.lower() not in ("http", "https"):
            raise TaskFailed(
                "'username' and 'password' apply to an http(s) repository URL; "
                f"{self.scrub(redact(url))} is not one (an ssh repository uses the worker's keys)"
            )
        if parts.username:
            raise TaskFailed(
                "'url' already holds credentials: give them in 'username'/'password' or in the "
                "URL, not both"
            )
        user = username or "git"  # token hosts accept any user name with a token
        self.masker.add(password)
        info = urllib.parse.quote(user, safe="")
        if password is not None:
            info += ":" + urllib.parse.quote(password, safe="")
        return urllib.parse.urlunsplit(parts._replace(netloc=f"{info}@{parts.netloc}"))

    def describe(self) -> str:
        branch = f" ({self.branch})" if self.branch else ""
        dry = " (dry run: nothing is written)" if self.dry_run else ""
        return f"Reconciling {self.scrub(self.shown)}{branch} into {self.server}{dry}"

    def scrub(self, text: str) -> str:
        return self.masker.mask(redact(text))


def _optional_boolean(ctx: RunContext, value: bool | str | None) -> bool | None:
    """``value`` as a boolean; None when unset or when its expression renders to nothing."""
    rendered = ctx.render_typed(value) if isinstance(value, str) else value
    if rendered is None or rendered == "":
        return None
    return is_truthy(rendered)


@runs(Reconcile)
def run_reconcile(task: Reconcile, ctx: RunContext) -> dict[str, Any]:
    from controlplane.gitops.reconcile import reconcile

    settings = _Settings(task, ctx)
    ctx.info(settings.describe())
    summary = _until_done(
        ctx,
        settings,
        lambda: reconcile(
            settings.location,
            ref=settings.branch,
            path=settings.path,
            server=settings.server,
            token=settings.token,
            environment=settings.environment,
            prune=settings.prune,
            dry_run=settings.dry_run,
            cache=ctx.working_dir / "source",
        ),
    )
    outputs = _outputs(summary, settings)
    _report(ctx, summary, settings, outputs)
    if not summary.ready:
        raise TaskFailed(settings.scrub(summary.line()), outputs)
    return outputs


def _until_done(ctx: RunContext, settings: _Settings, work: Callable[[], Summary]) -> Summary:
    """``work()`` on a thread of its own; a kill or a timeout stops the wait."""
    done: list[Summary] = []
    failed: list[BaseException] = []

    def target() -> None:
        try:
            done.append(work())
        except BaseException as error:  # handed to the task's thread below
            failed.append(error)

    thread = threading.Thread(target=target, name=f"reconcile-{ctx.task_run_id}", daemon=True)
    thread.start()
    while thread.is_alive():
        if ctx.cancelled.wait(_POLL_SECONDS):
            raise TaskKilled("stopped while reconciling; writes under way finish on their own")
    if failed:
        error = failed[0]
        raise TaskFailed(settings.scrub(f"reconcile failed: {type(error).__name__}: {error}"))
    return done[0]


def _outputs(summary: Summary, settings: _Settings) -> dict[str, Any]:
    applied, plan = summary.applied, summary.plan
    return {
        "ready": summary.ready,
        "state": summary.state,
        "reason": summary.reason,
        "message": settings.scrub(summary.message),
        "location": settings.scrub(settings.shown),
        "commit": summary.commit,
        "created": len(applied.created) if applied else 0,
        "updated": len(applied.updated) if applied else 0,
        "deleted": len(applied.deleted) if applied else 0,
        "unchanged": plan.diff.unchanged if plan else 0,
        "planned": len(plan.to_apply) if plan else 0,
        "drift": [str(key) for key in summary.drift],
        "dryRun": summary.dry_run,
    }


def _report(
    ctx: RunContext, summary: Summary, settings: _Settings, outputs: dict[str, Any]
) -> None:
    """One line per object written and per problem; the summary line last when ready."""
    applied, plan = summary.applied, summary.plan
    if plan is not None:
        errors = plan.errors
        for line in errors[1:] if not summary.ready else []:
            ctx.error(settings.scrub(line))  # the first one is in the task's failure message
        for problem in plan.warnings:
            ctx.warning(settings.scrub(str(problem)))
        if summary.dry_run:
            for change in plan.to_apply:
                ctx.info(f"would {change.action} {change.key}")
    if applied is not None:
        for verb, keys in (
            ("created", applied.created),
            ("updated", applied.updated),
            ("deleted", applied.deleted),
        ):
            for key in keys:
                ctx.info(f"{verb} {key}")
        for skipped in applied.skipped:
            ctx.warning(f"not deleted: {settings.scrub(skipped)}")
    for key in summary.drift:
        ctx.warning(f"drift: {key} was changed in Weir since this source last wrote it")
    if summary.drift:
        ctx.warn()
    for name in ("created", "updated", "deleted", "unchanged"):
        ctx.metric(name, outputs[name])
    ctx.metric("drift", len(summary.drift))
    if summary.ready:
        ctx.info(settings.scrub(summary.line()))
