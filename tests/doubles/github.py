"""GitHub's REST API, for the calls that report a plan on a pull request.

One repository (``REPOSITORY``) with pull requests (``add_pull_request``: number and head sha)
and commits. Authentication is ``Authorization: Bearer <token>`` (or ``token <token>``); a wrong
token gets ``401 {"message": "Bad credentials"}`` on any path, no token ``401 Requires
authentication``. Served:

- ``GET /repos/{owner}/{repo}/issues/{number}/comments`` with ``per_page`` (default 30, at most
  100) and ``page``: issue comment objects, oldest first; a ``Link`` header with ``next``/``last``
  and ``prev``/``first`` when there is more than one page. Like GitHub, the links address the
  repository by id (``/repositories/{id}/issues/{number}/comments``), which is served too.
- ``POST /repos/{owner}/{repo}/issues/{number}/comments`` ``{"body"}`` -> 201, the new comment.
- ``PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}`` ``{"body"}`` -> 200, the comment.
- ``POST /repos/{owner}/{repo}/statuses/{sha}`` ``{"state", "description"?, "context"?,
  "target_url"?}`` -> 201, the status object.
- ``POST /repos/{owner}/{repo}/pulls`` ``{"title", "head", "base", "body"?, "draft"?,
  "maintainer_can_modify"?}`` -> 201, the new pull request (branches seeded by ``add_branch``);
  ``422`` when ``head`` or ``base`` is not a branch, when they point at the same commit ("No
  commits between ...") or when an open pull request of ``head`` into ``base`` exists.
- ``POST /repos/{owner}/{repo}/pulls/{number}/requested_reviewers`` ``{"reviewers"?,
  "team_reviewers"?}`` -> 201, the pull request; ``422`` for a reviewer who is not a
  collaborator (``collaborators``) or a team the organisation does not have (``teams``).

An unknown repository, pull request or comment is ``404 Not Found``; a body GitHub would refuse
is ``422 Validation Failed`` with ``errors`` (a state outside error/failure/pending/success, a
description over 140 characters, a comment body missing or over 65,536 characters, a commit that
does not exist). Comments the token's user writes are by ``github-actions[bot]``; ``seed_comment``
adds comments by anyone. ``received`` keeps every request.
"""

from __future__ import annotations

import copy
import itertools
import math
import re
from datetime import UTC, datetime
from typing import Any

from tests.doubles import Received, Reply, ServiceDouble

REPOSITORY = "octo-org/desired-state"
REPOSITORY_ID = 734_582_117
TOKEN = "ghs_5mXq2Lr9VtK7wPz3NbY8cHd4FjA1eUo6GiS0"
BOT = {
    "login": "github-actions[bot]",
    "id": 41898282,
    "node_id": "MDM6Qm90NDE4OTgyODI=",
    "type": "Bot",
    "site_admin": False,
    "html_url": "https://github.com/apps/github-actions",
}
DOCS = "https://docs.github.com/rest"
COMMENT_LIMIT = 65_536
DESCRIPTION_LIMIT = 140
STATES = ("error", "failure", "pending", "success")

_REPO = r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)"
_BY_ID = r"/repositories/(?P<repo_id>\d+)"
_ISSUE_COMMENTS = re.compile(rf"(?:{_REPO}|{_BY_ID})/issues/(?P<number>\d+)/comments")
_COMMENT = re.compile(rf"{_REPO}/issues/comments/(?P<comment_id>\d+)")
_STATUSES = re.compile(rf"{_REPO}/statuses/(?P<sha>[^/]+)")
_PULLS = re.compile(rf"{_REPO}/pulls")
_REVIEWERS = re.compile(rf"{_REPO}/pulls/(?P<number>\d+)/requested_reviewers")


def user(login: str) -> dict[str, Any]:
    """A user object as GitHub embeds it in a comment."""
    return {
        "login": login,
        "id": 1000 + sum(login.encode()),
        "node_id": f"U_{login}",
        "type": "User",
        "site_admin": False,
        "html_url": f"https://github.com/{login}",
    }


def _timestamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class GitHubDouble(ServiceDouble):
    def __init__(self) -> None:
        super().__init__()
        self.token = TOKEN
        self.pull_requests: dict[int, str] = {}
        self.commits: set[str] = set()
        self.comments: dict[int, list[dict[str, Any]]] = {}
        self.statuses: dict[str, list[dict[str, Any]]] = {}
        self.link_base: str | None = None
        """Where the pagination links point; this server when None."""
        self._ids = itertools.count(1_900_000_001)
        self.branches: dict[str, str] = {}
        self.pulls: dict[int, dict[str, Any]] = {}
        self.collaborators: set[str] = {"octocat"}
        self.teams: set[str] = {"backend"}

    @property
    def api_url(self) -> str:
        return self.url

    # -- seeding ----------------------------------------------------------------------------------
    def add_pull_request(self, number: int, head_sha: str) -> None:
        with self.lock:
            self.pull_requests[number] = head_sha
            self.commits.add(head_sha)
            self.comments.setdefault(number, [])

    def add_branch(self, name: str, sha: str) -> None:
        with self.lock:
            self.branches[name] = sha
            self.commits.add(sha)

    def pull(self, number: int) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(self.pulls[number])

    def add_commit(self, sha: str) -> None:
        with self.lock:
            self.commits.add(sha)

    def seed_comment(self, number: int, body: str, *, login: str = "octocat") -> dict[str, Any]:
        """A comment already on the pull request, by ``login``; a copy of it is returned."""
        with self.lock:
            comment = self._new_comment(number, body, user(login))
            return copy.deepcopy(comment)

    def comments_on(self, number: int) -> list[dict[str, Any]]:
        with self.lock:
            return copy.deepcopy(self.comments.get(number, []))

    def statuses_of(self, sha: str) -> list[dict[str, Any]]:
        with self.lock:
            return copy.deepcopy(self.statuses.get(sha, []))

    def requests_with(self, method: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.method == method]

    # -- serving ----------------------------------------------------------------------------------
    def handle(self, request: Received) -> Reply:
        refusal = self._authenticate(request)
        if refusal is not None:
            return refusal
        path = request.path
        if (match := _ISSUE_COMMENTS.fullmatch(path)) and self._known(match):
            number = int(match["number"])
            if number not in self.pull_requests:
                return _not_found()
            if request.method == "GET":
                return self._list_comments(number, request)
            if request.method == "POST":
                return self._create_comment(number, request.body)
        if (match := _COMMENT.fullmatch(path)) and self._known(match) and request.method == "PATCH":
            return self._update_comment(int(match["comment_id"]), request.body)
        if (match := _STATUSES.fullmatch(path)) and self._known(match) and request.method == "POST":
            return self._create_status(match["sha"], request.body)
        if (match := _PULLS.fullmatch(path)) and self._known(match) and request.method == "POST":
            return self._create_pull(request.body)
        reviewers = _REVIEWERS.fullmatch(path)
        if reviewers and self._known(reviewers) and request.method == "POST":
            return self._request_reviewers(int(reviewers["number"]), request.body)
        return _not_found()

    def _authenticate(self, request: Received) -> Reply | None:
        header = request.headers.get("authorization", "")
        if not header:
            return Reply(401, {"message": "Requires authentication", "documentation_url": DOCS})
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() not in ("bearer", "token") or credentials != self.token:
            return Reply(401, {"message": "Bad credentials", "documentation_url": DOCS})
        return None

    def _known(self, match: re.Match[str]) -> bool:
        groups = match.groupdict()
        if groups.get("repo_id"):
            return int(groups["repo_id"]) == REPOSITORY_ID
        return f"{groups['owner']}/{groups['repo']}".lower() == REPOSITORY.lower()

    def _list_comments(self, number: int, request: Received) -> Reply:
        per_page = max(1, min(100, _int(request.query, "per_page", 30)))
        page = max(1, _int(request.query, "page", 1))
        comments = self.comments[number]
        last = max(1, math.ceil(len(comments) / per_page))
        chunk = comments[(page - 1) * per_page : page * per_page]
        base = self.link_base or self.url
        link = f"{base}/repositories/{REPOSITORY_ID}/issues/{number}/comments?per_page={per_page}"
        rels = []
        if page > 1:
            rels += [(page - 1, "prev"), (1, "first")]
        if page < last:
            rels += [(page + 1, "next"), (last, "last")]
        headers = {"Link": ", ".join(f'<{link}&page={n}>; rel="{rel}"' for n, rel in rels)}
        return Reply(200, copy.deepcopy(chunk), headers if rels else {})

    def _create_comment(self, number: int, body: Any) -> Reply:
        refusal = _check_body(body)
        if refusal is not None:
            return refusal
        return Reply(201, copy.deepcopy(self._new_comment(number, body["body"], BOT)))

    def _update_comment(self, comment_id: int, body: Any) -> Reply:
        comment = next(
            (c for cs in self.comments.values() for c in cs if c["id"] == comment_id), None
        )
        if comment is None:
            return _not_found()
        refusal = _check_body(body)
        if refusal is not None:
            return refusal
        comment["body"] = body["body"]
        comment["updated_at"] = _timestamp()
        return Reply(200, copy.deepcopy(comment))

    def _create_status(self, sha: str, body: Any) -> Reply:
        if sha not in self.commits:
            return Reply(
                422,
                {"message": f"No commit found for SHA: {sha}", "documentation_url": DOCS},
            )
        if not isinstance(body, dict):
            return _invalid("Status", "body", "invalid", "Problems parsing JSON")
        if body.get("state") not in STATES:
            return _invalid("Status", "state", "custom", "state is not included in the list")
        description = body.get("description")
        if description is not None and len(str(description)) > DESCRIPTION_LIMIT:
            return _invalid(
                "Status",
                "description",
                "custom",
                f"description is too long (maximum is {DESCRIPTION_LIMIT} characters)",
            )
        status_id = next(self._ids)
        now = _timestamp()
        status = {
            "url": f"{self.url}/repos/{REPOSITORY}/statuses/{sha}",
            "avatar_url": "https://avatars.githubusercontent.com/in/15368?v=4",
            "id": status_id,
            "node_id": f"SC_{status_id}",
            "state": body["state"],
            "description": description,
            "target_url": body.get("target_url"),
            "context": body.get("context") or "default",
            "created_at": now,
            "updated_at": now,
            "creator": dict(BOT),
        }
        self.statuses.setdefault(sha, []).append(status)
        return Reply(201, copy.deepcopy(status))

    def _create_pull(self, body: Any) -> Reply:
        if not isinstance(body, dict) or not body.get("title"):
            return _invalid("PullRequest", "title", "missing_field", "title wasn't supplied")
        head, base = str(body.get("head") or ""), str(body.get("base") or "")
        for field_name, branch in (("head", head.rsplit(":", 1)[-1]), ("base", base)):
            if branch not in self.branches:
                return _invalid("PullRequest", field_name, "invalid", f"{field_name} invalid")
        head = head.rsplit(":", 1)[-1]
        if self.branches[head] == self.branches[base]:
            return _custom("PullRequest", f"No commits between {base} and {head}")
        owner = REPOSITORY.split("/")[0]
        if any(p["head"]["ref"] == head and p["base"]["ref"] == base for p in self.pulls.values()):
            return _custom("PullRequest", f"A pull request already exists for {owner}:{head}.")
        number = max([*self.pull_requests, *self.pulls, 0]) + 1
        pull_id = next(self._ids)
        now = _timestamp()
        pull = {
            "url": f"{self.url}/repos/{REPOSITORY}/pulls/{number}",
            "id": pull_id,
            "node_id": f"PR_{pull_id}",
            "html_url": f"https://github.com/{REPOSITORY}/pull/{number}",
            "issue_url": f"{self.url}/repos/{REPOSITORY}/issues/{number}",
            "number": number,
            "state": "open",
            "locked": False,
            "title": body["title"],
            "user": dict(BOT),
            "body": body.get("body"),
            "created_at": now,
            "updated_at": now,
            "draft": bool(body.get("draft", False)),
            "maintainer_can_modify": bool(body.get("maintainer_can_modify", False)),
            "requested_reviewers": [],
            "requested_teams": [],
            "head": {"label": f"{owner}:{head}", "ref": head, "sha": self.branches[head]},
            "base": {"label": f"{owner}:{base}", "ref": base, "sha": self.branches[base]},
        }
        self.pulls[number] = pull
        self.pull_requests[number] = self.branches[head]
        self.comments.setdefault(number, [])
        return Reply(201, copy.deepcopy(pull))

    def _request_reviewers(self, number: int, body: Any) -> Reply:
        pull = self.pulls.get(number)
        if pull is None:
            return _not_found()
        reviewers = list((body or {}).get("reviewers") or [])
        teams = list((body or {}).get("team_reviewers") or [])
        if any(r not in self.collaborators for r in reviewers):
            return Reply(
                422,
                {
                    "message": "Reviews may only be requested from collaborators. One or more "
                    "of the users or teams you specified is not a collaborator of the "
                    f"{REPOSITORY} repository.",
                    "documentation_url": DOCS,
                },
            )
        if any(t not in self.teams for t in teams):
            return _not_found()
        pull["requested_reviewers"] += [user(r) for r in reviewers]
        pull["requested_teams"] += [{"slug": t, "name": t} for t in teams]
        return Reply(201, copy.deepcopy(pull))

    def _new_comment(self, number: int, body: str, author: dict[str, Any]) -> dict[str, Any]:
        comment_id = next(self._ids)
        now = _timestamp()
        comment = {
            "id": comment_id,
            "node_id": f"IC_{comment_id}",
            "url": f"{self.url}/repos/{REPOSITORY}/issues/comments/{comment_id}",
            "html_url": f"https://github.com/{REPOSITORY}/pull/{number}#issuecomment-{comment_id}",
            "issue_url": f"{self.url}/repos/{REPOSITORY}/issues/{number}",
            "body": body,
            "user": dict(author),
            "created_at": now,
            "updated_at": now,
            "author_association": "NONE" if author["type"] == "Bot" else "MEMBER",
        }
        self.comments.setdefault(number, []).append(comment)
        return comment


def _check_body(body: Any) -> Reply | None:
    if not isinstance(body, dict) or not isinstance(body.get("body"), str):
        return Reply(
            422,
            {"message": 'Invalid request.\n\n"body" wasn\'t supplied.', "documentation_url": DOCS},
        )
    if len(body["body"]) > COMMENT_LIMIT:
        return _invalid(
            "IssueComment",
            "data",
            "unprocessable",
            f"Body is too long (maximum is {COMMENT_LIMIT} characters)",
        )
    return None


def _invalid(resource: str, field: str, code: str, message: str) -> Reply:
    error = {"resource": resource, "code": code, "field": field, "message": message}
    return Reply(
        422, {"message": "Validation Failed", "errors": [error], "documentation_url": DOCS}
    )


def _custom(resource: str, message: str) -> Reply:
    error = {"resource": resource, "code": "custom", "message": message}
    return Reply(
        422, {"message": "Validation Failed", "errors": [error], "documentation_url": DOCS}
    )


def _not_found() -> Reply:
    return Reply(404, {"message": "Not Found", "documentation_url": DOCS})


def _int(query: dict[str, list[str]], name: str, default: int) -> int:
    values = query.get(name)
    try:
        return int(values[0]) if values else default
    except ValueError:
        return default
