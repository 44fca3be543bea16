"""Reporting a GitOps plan on a GitHub pull request, from inside a GitHub Actions job.

The plan goes to one pull-request comment, found again on every push by a hidden marker at its
start and edited in place; the verdict goes to a commit status on the pull request's head commit;
problems become workflow-command annotations on the lines they concern, and the job summary gets
the plan too. GitHub is a third-party service, not the Weir API, so it is called with ``requests``
directly.

Errors::

    WeirError
    └── GitHubError   a GitHub Actions variable is missing or wrong, or a GitHub API call failed
"""

from __future__ import annotations

import contextlib
import json
import re
import urllib.parse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from controlplane.errors import WeirError
from controlplane.masking import Masker

DEFAULT_API_URL = "https://api.github.com"
API_VERSION = "2022-11-28"
MARKER = "<!-- weir-gitops-plan -->"
STATUS_CONTEXT = "weir/gitops-plan"
COMMENT_LIMIT = 65_536
"""GitHub refuses a comment body longer than this many characters (422)."""
DESCRIPTION_LIMIT = 140
"""GitHub refuses a commit status description longer than this (422)."""
STATES = ("success", "failure", "error", "pending")
LEVELS = ("error", "warning", "notice")
TIMEOUT = 30.0
_REPOSITORY = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
_RUN_HINT = "run `weir gitops plan --github` inside a GitHub Actions job, or set it"

_HINTS = {
    401: "GitHub refused the token; pass the job's token as GITHUB_TOKEN "
    "(env: GITHUB_TOKEN: ${{ github.token }})",
    403: "the token may not do this; give the job `permissions: pull-requests: write` and "
    "`statuses: write` (a pull request from a fork only gets a read-only token)",
    404: "check GITHUB_REPOSITORY and the pull request number; GitHub also answers 404 to a "
    "token that cannot see a private repository",
    422: "GitHub refused the request's content",
}


class GitHubError(WeirError):
    """A GitHub Actions variable is missing or wrong, or a GitHub API call failed."""

    code = "github_error"


@dataclass(frozen=True)
class GitHubContext:
    """Where to report: the repository, the pull request and its head commit, and the token."""

    api_url: str
    repository: str
    token: str = field(repr=False)
    pull_request: int | None
    sha: str
    run_url: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> GitHubContext:
        """Read the context from the variables GitHub Actions sets in every job."""
        repository = _required(environ, "GITHUB_REPOSITORY")
        if not _REPOSITORY.fullmatch(repository):
            raise GitHubError(
                f"GITHUB_REPOSITORY is {repository!r}, expected owner/name (e.g. octo-org/flows)"
            )
        token = _required(environ, "GITHUB_TOKEN")
        number, head_sha = _pull_request(environ.get("GITHUB_EVENT_PATH", ""))
        sha = head_sha or environ.get("GITHUB_SHA", "")
        if not sha:
            raise GitHubError(
                f"GITHUB_SHA is not set and the event has no pull request; {_RUN_HINT}"
            )
        server, run_id = environ.get("GITHUB_SERVER_URL", ""), environ.get("GITHUB_RUN_ID", "")
        run_url = (
            f"{server.rstrip('/')}/{repository}/actions/runs/{run_id}"
            if server and run_id
            else None
        )
        return cls(
            api_url=(environ.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/"),
            repository=repository,
            token=token,
            pull_request=number,
            sha=sha,
            run_url=run_url,
        )


@dataclass(frozen=True)
class Published:
    """What ``publish`` did: the plan comment (None without a pull request) and the status."""

    comment_id: int | None
    comment_url: str | None
    created: bool
    status_state: str


def publish(
    context: GitHubContext,
    *,
    body_markdown: str,
    state: str,
    description: str,
    marker: str = MARKER,
    status_context: str = STATUS_CONTEXT,
    session: requests.Session | None = None,
) -> Published:
    """Post or edit the plan comment of the pull request, then set the head commit's status."""
    if state not in STATES:
        raise GitHubError(f"commit status state {state!r} is not one of {', '.join(STATES)}")
    with contextlib.ExitStack() as stack:
        if session is None:
            session = stack.enter_context(requests.Session())
        api = _Api(context, session)
        comment_id, comment_url, created = None, None, False
        if context.pull_request is not None:
            body = comment_body(body_markdown, marker=marker, run_url=context.run_url)
            comment = api.find_comment(context.pull_request, marker)
            if comment is None:
                path = f"issues/{context.pull_request}/comments"
                comment, created = api.call("POST", path, {"body": body}), True
            else:
                comment = api.call("PATCH", f"issues/comments/{comment['id']}", {"body": body})
            comment_id, comment_url = int(comment["id"]), str(comment["html_url"])
        status: dict[str, Any] = {
            "state": state,
            "description": _shorten(description, DESCRIPTION_LIMIT),
            "context": status_context,
        }
        if comment_url or context.run_url:
            status["target_url"] = comment_url or context.run_url
        answer = api.call("POST", f"statuses/{context.sha}", status)
    return Published(comment_id, comment_url, created, str(answer.get("state", state)))


def comment_body(markdown: str, *, marker: str = MARKER, run_url: str | None = None) -> str:
    """The comment as posted: the marker first, cut with a note when over GitHub's limit."""
    text = markdown.replace(marker, "").strip("\n")
    head = f"{marker}\n"
    if len(head) + len(text) <= COMMENT_LIMIT:
        return head + text
    where = f"the [job's log and summary]({run_url})" if run_url else "the job's log and summary"
    note = (
        f"\n\n> [!WARNING]\n> The plan was cut here: it is longer than GitHub's "
        f"{COMMENT_LIMIT:,}-character limit for a comment. The whole plan is in {where}."
    )
    room = COMMENT_LIMIT - len(head) - len(note) - len("\n```")
    kept = text[:room]
    if "\n" in kept:
        kept = kept[: kept.rindex("\n")]
    if sum(1 for line in kept.splitlines() if line.lstrip().startswith("```")) % 2:
        kept += "\n```"
    return head + kept + note


def annotation(
    level: str,
    file: str | None,
    line: int | None,
    column: int | None,
    title: str | None,
    message: str,
) -> str:
    """A workflow command that annotates ``file:line:column`` on the pull request."""
    if level not in LEVELS:
        raise GitHubError(f"annotation level {level!r} is not one of {', '.join(LEVELS)}")
    pairs = (("file", file), ("line", line), ("col", column), ("title", title))
    props = ",".join(
        f"{key}={escape_property(str(value))}" for key, value in pairs if value not in (None, "")
    )
    return (
        f"::{level} {props}::{escape_data(message)}"
        if props
        else f"::{level}::{escape_data(message)}"
    )


def escape_data(text: str) -> str:
    """Escape a workflow command's message: ``%``, CR and LF."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a workflow command's property value: as a message, plus ``:`` and ``,``."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def step_summary(markdown: str, environ: Mapping[str, str]) -> bool:
    """Append to the job summary ($GITHUB_STEP_SUMMARY); False when the variable is not set."""
    target = environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return False
    try:
        with Path(target).open("a", encoding="utf-8") as summary:
            summary.write(markdown.rstrip("\n") + "\n")
    except OSError as exc:
        raise GitHubError(
            f"could not append to the job summary GITHUB_STEP_SUMMARY={target}: {exc.strerror}"
        ) from exc
    return True


class _Api:
    """The few GitHub REST calls ``publish`` makes, on one repository."""

    def __init__(self, context: GitHubContext, session: requests.Session) -> None:
        self.context = context
        self.session = session
        self.base = f"{context.api_url}/repos/{context.repository}/"
        self.headers = {
            "Authorization": f"Bearer {context.token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
        }

    def find_comment(self, number: int, marker: str) -> dict[str, Any] | None:
        """The first comment that starts with the marker; others' comments never match."""
        for comment in self._comments(number):
            if str(comment.get("body") or "").lstrip().startswith(marker):
                return comment
        return None

    def _comments(self, number: int) -> Iterator[dict[str, Any]]:
        url: str | None = f"{self.base}issues/{number}/comments?per_page=100"
        while url is not None:
            response = self._send("GET", url, None)
            page = _json(response)
            if not isinstance(page, list):
                raise GitHubError(f"GET {_path(url)}: GitHub answered {_kind(page)}, not a list")
            yield from (item for item in page if isinstance(item, dict))
            url = response.links.get("next", {}).get("url")
            if url is not None and not url.startswith(self.context.api_url + "/"):
                raise GitHubError(
                    f"GET {_path(url)}: GitHub's next page is outside {self.context.api_url}; "
                    "the token is not sent there"
                )

    def call(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        url = self.base + path
        answer = _json(self._send(method, url, body))
        if not isinstance(answer, dict):
            raise GitHubError(f"{method} {_path(url)}: GitHub answered {_kind(answer)}")
        return answer

    def _send(self, method: str, url: str, body: dict[str, Any] | None) -> requests.Response:
        try:
            response = self.session.request(
                method, url, json=body, headers=self.headers, timeout=TIMEOUT
            )
        except requests.RequestException as exc:
            raise GitHubError(
                f"{method} {_path(url)}: could not reach GitHub at {self.context.api_url} "
                f"({type(exc).__name__})"
            ) from None
        if response.ok:
            return response
        message = self._refusal(method, url, response)
        raise GitHubError(Masker([self.context.token], shortest=1).mask(message))

    @staticmethod
    def _refusal(method: str, url: str, response: requests.Response) -> str:
        try:
            answer = response.json()
        except ValueError:
            answer = None
        text = f"{method} {_path(url)}: GitHub answered {response.status_code}"
        if isinstance(answer, dict):
            if answer.get("message"):
                text += f" {answer['message']}"
            errors = answer.get("errors")
            details = [
                str(error.get("message") or error.get("code"))
                for error in (errors if isinstance(errors, list) else [])
                if isinstance(error, dict)
            ]
            if details:
                text += f" ({'; '.join(details)})"
        hint = _HINTS.get(response.status_code)
        return f"{text}; {hint}" if hint else text


def _required(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "")
    if not value:
        raise GitHubError(f"{name} is not set; {_RUN_HINT}")
    return value


def _pull_request(event_path: str) -> tuple[int | None, str | None]:
    """The pull request number and head sha from the event payload, if it has a pull request."""
    if not event_path:
        return None, None
    try:
        event = json.loads(Path(event_path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise GitHubError(
            f"cannot read the event GITHUB_EVENT_PATH={event_path}: {exc.strerror}"
        ) from exc
    except ValueError as exc:
        raise GitHubError(f"the event GITHUB_EVENT_PATH={event_path} is not JSON: {exc}") from exc
    pull = event.get("pull_request") if isinstance(event, dict) else None
    if not isinstance(pull, dict):
        return None, None
    number, head = pull.get("number"), pull.get("head")
    sha = head.get("sha") if isinstance(head, dict) else None
    if not isinstance(number, int) or not isinstance(sha, str) or not sha:
        raise GitHubError(
            f"the event GITHUB_EVENT_PATH={event_path} has a pull_request without an integer "
            "`number` and a `head.sha`"
        )
    return number, sha


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        url = response.request.url or ""
        raise GitHubError(
            f"{response.request.method} {_path(url)}: GitHub answered {response.status_code} "
            "with a body that is not JSON"
        ) from None


def _path(url: str) -> str:
    split = urllib.parse.urlsplit(url)
    return split.path + (f"?{split.query}" if split.query else "")


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
