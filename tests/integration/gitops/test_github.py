"""Reporting a plan on a pull request, against a local stand-in of GitHub's REST API."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
import requests

from controlplane.errors import WeirError
from controlplane.gitops.github import (
    COMMENT_LIMIT,
    MARKER,
    GitHubContext,
    GitHubError,
    annotation,
    publish,
    step_summary,
)
from tests.doubles.github import REPOSITORY, REPOSITORY_ID, TOKEN, GitHubDouble

PR = 42
HEAD = "6dcb09b5b57875f334f61aebed695e2e4193db5e"
MAIN = "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567"
RUN_URL = f"https://github.com/{REPOSITORY}/actions/runs/9876543210"
PLAN = "## Weir plan\n\n`company.team/hello`: 1 field changes\n"


@pytest.fixture
def github() -> Iterator[GitHubDouble]:
    with GitHubDouble() as double:
        double.add_pull_request(PR, HEAD)
        double.add_commit(MAIN)
        yield double


def on_pr(github: GitHubDouble, *, token: str = TOKEN, number: int | None = PR) -> GitHubContext:
    return GitHubContext(
        api_url=github.api_url,
        repository=REPOSITORY,
        token=token,
        pull_request=number,
        sha=HEAD if number is not None else MAIN,
        run_url=RUN_URL,
    )


def ours(github: GitHubDouble) -> list[dict[str, object]]:
    return [c for c in github.comments_on(PR) if str(c["body"]).startswith(MARKER)]


def test_first_publish_creates_one_comment_and_a_status(github: GitHubDouble) -> None:
    published = publish(
        on_pr(github), body_markdown=PLAN, state="success", description="1 flow changes"
    )

    [comment] = github.comments_on(PR)
    assert published.created is True
    assert published.comment_id == comment["id"]
    assert published.comment_url == comment["html_url"]
    assert comment["body"] == f"{MARKER}\n{PLAN.strip()}"
    assert comment["user"]["login"] == "github-actions[bot]"
    [status] = github.statuses_of(HEAD)
    assert (status["state"], status["context"]) == ("success", "weir/gitops-plan")
    assert status["description"] == "1 flow changes"
    assert status["target_url"] == comment["html_url"]
    assert published.status_state == "success"


def test_requests_carry_githubs_headers_and_a_bearer_token(github: GitHubDouble) -> None:
    publish(on_pr(github), body_markdown=PLAN, state="success", description="ok")

    assert [(r.method, r.path) for r in github.received] == [
        ("GET", f"/repos/{REPOSITORY}/issues/{PR}/comments"),
        ("POST", f"/repos/{REPOSITORY}/issues/{PR}/comments"),
        ("POST", f"/repos/{REPOSITORY}/statuses/{HEAD}"),
    ]
    assert github.received[0].query == {"per_page": ["100"]}
    for request in github.received:
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
        assert request.headers["accept"] == "application/vnd.github+json"
        assert request.headers["x-github-api-version"] == "2022-11-28"


def test_second_publish_edits_the_same_comment_and_sets_a_new_status(
    github: GitHubDouble,
) -> None:
    with requests.Session() as session:
        first = publish(
            on_pr(github), body_markdown=PLAN, state="success", description="1", session=session
        )
        second = publish(
            on_pr(github),
            body_markdown="## Weir plan\n\n`flows/hello.yaml:3:5`: unknown task type\n",
            state="failure",
            description="1 error",
            session=session,
        )

    assert second.created is False
    assert second.comment_id == first.comment_id
    [comment] = github.comments_on(PR)
    assert "unknown task type" in str(comment["body"])
    assert "1 field changes" not in str(comment["body"])
    assert [r.path for r in github.requests_with("PATCH")] == [
        f"/repos/{REPOSITORY}/issues/comments/{first.comment_id}"
    ]
    assert [s["state"] for s in github.statuses_of(HEAD)] == ["success", "failure"]
    assert second.status_state == "failure"


def test_marker_comment_on_the_second_page_is_found(github: GitHubDouble) -> None:
    for n in range(100):
        github.seed_comment(PR, f"review note {n}", login="alice")
    earlier = github.seed_comment(PR, f"{MARKER}\nold plan", login="github-actions[bot]")
    github.seed_comment(PR, "looks good", login="bob")

    published = publish(on_pr(github), body_markdown=PLAN, state="success", description="ok")

    assert published.created is False
    assert published.comment_id == earlier["id"]
    pages = github.requests_with("GET")
    assert [r.path for r in pages] == [
        f"/repos/{REPOSITORY}/issues/{PR}/comments",
        f"/repositories/{REPOSITORY_ID}/issues/{PR}/comments",
    ]
    assert pages[1].query == {"per_page": ["100"], "page": ["2"]}
    assert len(github.comments_on(PR)) == 102
    assert [c["body"] for c in ours(github)] == [f"{MARKER}\n{PLAN.strip()}"]


def test_other_peoples_comments_are_never_edited(github: GitHubDouble) -> None:
    others = [
        github.seed_comment(PR, "Please also bump the schedule.", login="alice"),
        github.seed_comment(
            PR, f"> {MARKER}\n> quoting the bot: why does this prune?", login="bob"
        ),
        github.seed_comment(PR, f"A note that mentions {MARKER} in passing", login="carol"),
    ]

    publish(on_pr(github), body_markdown=PLAN, state="success", description="ok")
    publish(on_pr(github), body_markdown=PLAN + "\nagain", state="success", description="ok")

    after = {c["id"]: c for c in github.comments_on(PR)}
    for comment in others:
        assert after[comment["id"]] == comment
    edited = {r.path.rsplit("/", 1)[1] for r in github.requests_with("PATCH")}
    assert edited == {str(ours(github)[0]["id"])}
    assert len(after) == 4


def test_bad_token_is_refused_without_showing_the_token(github: GitHubDouble) -> None:
    wrong = "ghp_NotTheRightOne0123456789abcdefABCDEF"
    context = on_pr(github, token=wrong)

    with pytest.raises(GitHubError) as caught:
        publish(context, body_markdown=PLAN, state="success", description="ok")

    message = str(caught.value)
    assert isinstance(caught.value, WeirError)
    assert f"GET /repos/{REPOSITORY}/issues/{PR}/comments" in message
    assert "401 Bad credentials" in message
    assert "GITHUB_TOKEN" in message
    assert wrong not in message and TOKEN not in message
    assert wrong not in repr(context)
    assert github.comments_on(PR) == [] and github.statuses_of(HEAD) == []


def test_unknown_pull_request_reports_githubs_message(github: GitHubDouble) -> None:
    with pytest.raises(GitHubError) as caught:
        publish(on_pr(github, number=99), body_markdown=PLAN, state="success", description="ok")

    message = str(caught.value)
    assert f"GET /repos/{REPOSITORY}/issues/99/comments?per_page=100" in message
    assert "404 Not Found" in message
    assert "GITHUB_REPOSITORY" in message


def test_push_event_sets_only_the_status(github: GitHubDouble) -> None:
    published = publish(
        on_pr(github, number=None), body_markdown=PLAN, state="success", description="no changes"
    )

    assert (published.comment_id, published.comment_url, published.created) == (None, None, False)
    assert [(r.method, r.path) for r in github.received] == [
        ("POST", f"/repos/{REPOSITORY}/statuses/{MAIN}")
    ]
    [status] = github.statuses_of(MAIN)
    assert status["target_url"] == RUN_URL
    assert github.statuses_of(HEAD) == []


def test_long_body_is_cut_with_a_note_and_keeps_the_marker(github: GitHubDouble) -> None:
    rows = "\n".join(f"  ~ tasks[{n}].retry.maxAttempts: 3 -> 5" for n in range(3000))
    body = f"## Weir plan\n\n```diff\n{rows}\n```\n"
    assert len(body) > COMMENT_LIMIT

    publish(on_pr(github), body_markdown=body, state="success", description="big")

    [comment] = github.comments_on(PR)
    text = str(comment["body"])
    assert len(text) <= COMMENT_LIMIT
    assert text.startswith(MARKER + "\n## Weir plan")
    assert "longer than GitHub's 65,536-character limit" in text
    assert RUN_URL in text
    assert sum(line.startswith("```") for line in text.splitlines()) % 2 == 0
    assert "tasks[0].retry" in text and "tasks[2999].retry" not in text


def test_body_at_the_limit_is_posted_whole(github: GitHubDouble) -> None:
    body = "x" * (COMMENT_LIMIT - len(MARKER) - 1)

    publish(on_pr(github), body_markdown=body, state="success", description="ok")

    [comment] = github.comments_on(PR)
    assert comment["body"] == f"{MARKER}\n{body}"


def test_long_description_is_shortened_to_githubs_limit(github: GitHubDouble) -> None:
    description = "3 flows change, 1 is pruned, " * 10

    publish(on_pr(github), body_markdown=PLAN, state="success", description=description)

    [status] = github.statuses_of(HEAD)
    assert len(str(status["description"])) == 140
    assert str(status["description"]).endswith("…")


def test_state_outside_githubs_list_is_refused_before_calling(github: GitHubDouble) -> None:
    with pytest.raises(GitHubError, match="'green' is not one of success, failure, error"):
        publish(on_pr(github), body_markdown=PLAN, state="green", description="ok")
    assert github.received == []


def test_double_answers_a_bad_state_with_githubs_validation_error(github: GitHubDouble) -> None:
    answer = requests.post(
        f"{github.api_url}/repos/{REPOSITORY}/statuses/{HEAD}",
        json={"state": "green"},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=10,
    )

    assert answer.status_code == 422
    assert answer.json()["message"] == "Validation Failed"
    assert answer.json()["errors"][0]["field"] == "state"


def test_unreachable_github_is_a_clear_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    context = GitHubContext(f"http://127.0.0.1:{port}", REPOSITORY, TOKEN, None, MAIN)

    with pytest.raises(GitHubError) as caught:
        publish(context, body_markdown=PLAN, state="success", description="ok")

    assert f"POST /repos/{REPOSITORY}/statuses/{MAIN}" in str(caught.value)
    assert f"could not reach GitHub at http://127.0.0.1:{port}" in str(caught.value)


def test_next_page_on_another_host_is_not_followed(github: GitHubDouble) -> None:
    for n in range(101):
        github.seed_comment(PR, f"note {n}", login="alice")
    github.link_base = "https://elsewhere.example"

    with pytest.raises(
        GitHubError, match=r"outside http://127\.0\.0\.1:\d+; the token is not sent"
    ):
        publish(on_pr(github), body_markdown=PLAN, state="success", description="ok")
    assert len(github.requests_with("GET")) == 1


def write_event(tmp_path: Path, event: Mapping[str, object]) -> str:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event), encoding="utf-8")
    return str(path)


def actions_env(github: GitHubDouble, event_path: str) -> dict[str, str]:
    return {
        "GITHUB_ACTIONS": "true",
        "GITHUB_API_URL": github.api_url,
        "GITHUB_REPOSITORY": REPOSITORY,
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_EVENT_PATH": event_path,
        "GITHUB_SHA": "f" * 40,  # the merge commit of a pull_request run
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_RUN_ID": "9876543210",
    }


def test_from_env_reads_the_pull_request_event_and_publishes(
    github: GitHubDouble, tmp_path: Path
) -> None:
    event = {
        "action": "synchronize",
        "number": PR,
        "pull_request": {
            "number": PR,
            "state": "open",
            "head": {"ref": "change-schedule", "sha": HEAD},
            "base": {"ref": "main", "sha": MAIN},
        },
        "repository": {"full_name": REPOSITORY},
    }

    context = GitHubContext.from_env(actions_env(github, write_event(tmp_path, event)))

    assert context == GitHubContext(github.api_url, REPOSITORY, TOKEN, PR, HEAD, RUN_URL)
    published = publish(context, body_markdown=PLAN, state="success", description="ok")
    assert published.created and github.statuses_of(HEAD)


def test_from_env_on_a_push_uses_github_sha(github: GitHubDouble, tmp_path: Path) -> None:
    event = {"ref": "refs/heads/main", "before": "0" * 40, "after": MAIN}
    environ = {
        **actions_env(github, write_event(tmp_path, event)),
        "GITHUB_SHA": MAIN,
        "GITHUB_API_URL": "",
    }

    context = GitHubContext.from_env(environ)

    assert (context.pull_request, context.sha) == (None, MAIN)
    assert context.api_url == "https://api.github.com"


@pytest.mark.parametrize("missing", ["GITHUB_REPOSITORY", "GITHUB_TOKEN"])
def test_from_env_names_a_missing_variable(
    github: GitHubDouble, tmp_path: Path, missing: str
) -> None:
    environ = actions_env(github, write_event(tmp_path, {}))
    del environ[missing]

    with pytest.raises(GitHubError) as caught:
        GitHubContext.from_env(environ)

    assert str(caught.value) == (
        f"{missing} is not set; run `weir gitops plan --github` inside a GitHub Actions job, "
        "or set it"
    )


def test_from_env_reports_an_unreadable_event_file(github: GitHubDouble, tmp_path: Path) -> None:
    broken = tmp_path / "event.json"
    broken.write_text("{not json", encoding="utf-8")

    with pytest.raises(GitHubError, match=re.escape(f"GITHUB_EVENT_PATH={broken} is not JSON")):
        GitHubContext.from_env(actions_env(github, str(broken)))
    with pytest.raises(GitHubError, match="cannot read the event GITHUB_EVENT_PATH="):
        GitHubContext.from_env(actions_env(github, str(tmp_path / "absent.json")))


def test_from_env_refuses_a_repository_without_owner(github: GitHubDouble, tmp_path: Path) -> None:
    environ = {**actions_env(github, write_event(tmp_path, {})), "GITHUB_REPOSITORY": "flows"}

    with pytest.raises(GitHubError, match="GITHUB_REPOSITORY is 'flows', expected owner/name"):
        GitHubContext.from_env(environ)


def test_annotation_escapes_the_message_and_the_properties() -> None:
    line = annotation(
        "error",
        "flows/a,b:c.yaml",
        3,
        5,
        "Bad: value, here",
        "tasks[0].type: unknown\r\nfix 100%",
    )

    assert line == (
        "::error file=flows/a%2Cb%3Ac.yaml,line=3,col=5,title=Bad%3A value%2C here"
        "::tasks[0].type: unknown%0D%0Afix 100%25"
    )


def test_annotation_leaves_out_missing_properties_and_checks_the_level() -> None:
    assert (
        annotation("notice", None, None, None, None, "3 flows change") == "::notice::3 flows change"
    )
    assert annotation("warning", "a.yaml", 7, None, None, "m") == "::warning file=a.yaml,line=7::m"
    with pytest.raises(GitHubError, match="'fatal' is not one of error, warning, notice"):
        annotation("fatal", "a.yaml", 1, 1, None, "m")


def test_step_summary_appends_when_github_gives_a_file(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("# Earlier step\n", encoding="utf-8")
    environ = {"GITHUB_STEP_SUMMARY": str(summary)}

    assert step_summary("## Weir plan\n\nno changes", environ) is True
    assert step_summary("second", environ) is True

    assert (
        summary.read_text(encoding="utf-8")
        == "# Earlier step\n## Weir plan\n\nno changes\nsecond\n"
    )
    assert step_summary("ignored", {}) is False
