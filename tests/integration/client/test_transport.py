"""The client's own behaviour against a scripted server: which failures it retries, how answers
become errors, the headers it sends, and how it follows and waits on executions."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest

from controlplane import __version__
from controlplane.client import (
    ClientError,
    Conflict,
    Invalid,
    NotFound,
    ServerError,
    Unauthorized,
    Unreachable,
    WeirClient,
)
from tests.integration.client.fake import Answer, FakeServer, error

TOKEN = "weir_s3cr3t-t0ken-value"


def client(fake: FakeServer, **options: Any) -> WeirClient:
    options = {"retries": 3, "backoff": 0.001, "timeout": 5.0, **options}
    return WeirClient(fake.url, **options)


def namespace(name: str = "acme", revision: int = 1) -> dict[str, Any]:
    return {"name": name, "parent": None, "description": None, "variables": {},
            "labels": {}, "managed_by": None, "revision": revision}  # fmt: skip


def test_503_twice_then_200_succeeds_on_the_third_request(fake: FakeServer) -> None:
    unavailable = Answer(503, error("unavailable", "the database is not answering"))
    fake.answer(unavailable, unavailable, Answer(200, namespace()))
    with client(fake) as weir:
        assert weir.namespaces.get("acme").name == "acme"
    assert len(fake.seen) == 3


def test_a_post_is_retried_on_503_but_not_on_502_or_504(fake: FakeServer) -> None:
    fake.answer(
        Answer(503, b""),
        Answer(200, {"id": "run1", "namespace": "a", "flowId": "f", "state": "CREATED"}),
    )
    with client(fake) as weir:
        assert weir.executions.create("a", "f").id == "run1"
        assert len(fake.seen) == 2
        fake.answer(Answer(502, b"<html>Bad Gateway</html>"))
        with pytest.raises(ServerError):
            weir.executions.create("a", "f")
        assert len(fake.seen) == 1


def test_500_is_not_retried(fake: FakeServer) -> None:
    fake.answer(Answer(500, error("internal", "the server failed; incident abc", incident="abc")))
    with client(fake) as weir, pytest.raises(ServerError) as raised:
        weir.namespaces.get("acme")
    assert len(fake.seen) == 1
    assert (raised.value.status, raised.value.code) == (500, "internal")
    assert raised.value.details == {"incident": "abc"}


def test_4xx_is_not_retried_and_404_gives_not_found_with_the_servers_message(
    fake: FakeServer,
) -> None:
    fake.answer(Answer(404, error("not_found", "namespace acme does not exist")))
    with client(fake) as weir, pytest.raises(NotFound) as raised:
        weir.namespaces.get("acme")
    assert len(fake.seen) == 1
    assert str(raised.value) == "namespace acme does not exist"
    assert (raised.value.status, raised.value.code, raised.value.message) == (
        404, "not_found", "namespace acme does not exist",
    )  # fmt: skip


def test_409_and_422_carry_what_their_details_say(fake: FakeServer) -> None:
    problem = {"line": 3, "column": 1, "message": "required"}
    fake.answer(
        Answer(409, error("managed_elsewhere", "by terraform", managed_by="terraform", revision=4)),
        Answer(422, error("flow_invalid", "tasks: required", problems=[problem])),
    )
    with client(fake) as weir:
        with pytest.raises(Conflict) as conflict:
            weir.namespaces.put("acme", description="x")
        assert (conflict.value.managed_by, conflict.value.revision) == ("terraform", 4)
        with pytest.raises(Invalid) as invalid:
            weir.flows.create("id: f\nnamespace: a\n")
        assert invalid.value.problems == [problem]


def test_an_error_body_that_is_not_json_still_says_what_happened(fake: FakeServer) -> None:
    page = b"<html><body>\n  <h1>502 Bad Gateway</h1>\n  nginx\n</body></html>"
    fake.answer(Answer(502, page))
    with client(fake, retries=1) as weir, pytest.raises(ServerError) as raised:
        weir.flows.get("acme", "hello")
    assert len(fake.seen) == 2
    assert str(raised.value) == (
        "the server answered 502 Bad Gateway: <html><body> <h1>502 Bad Gateway</h1> nginx </body></html>"
    )
    assert raised.value.code == "http_502"


def test_a_refused_connection_is_retried_then_unreachable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    with (
        WeirClient(url, TOKEN, retries=2, backoff=0.001) as weir,
        pytest.raises(Unreachable) as raised,
    ):
        weir.flows.create("id: f\nnamespace: a\n")
    assert raised.value.attempts == 3
    assert raised.value.status is None
    assert TOKEN not in str(raised.value)
    assert str(raised.value) == (
        f"cannot reach the Weir server at {url}: connection refused (after 3 attempts); "
        "check WEIR_URL and that the server runs"
    )


def test_a_post_that_timed_out_is_not_repeated_but_a_get_is(fake: FakeServer) -> None:
    fake.answer(Answer(200, {}, delay=0.5))
    with client(fake, timeout=0.1) as weir:
        with pytest.raises(Unreachable, match="may have been carried out") as raised:
            weir.executions.restart("run1")
        assert (raised.value.attempts, len(fake.seen)) == (1, 1)
        fake.answer(Answer(200, namespace(), delay=0.5), Answer(200, namespace()))
        assert weir.namespaces.get("acme").revision == 1
        assert len(fake.seen) == 2


def test_the_token_is_sent_as_a_bearer_and_kept_out_of_error_messages(
    fake: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEIR_URL", fake.url)
    monkeypatch.setenv("WEIR_TOKEN", TOKEN)
    fake.answer(Answer(401, f"refused token {TOKEN}".encode()))
    with WeirClient(retries=0) as weir, pytest.raises(Unauthorized) as raised:
        weir.namespaces.list()
    assert fake.seen[0].headers["Authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in str(raised.value)
    assert TOKEN not in repr(raised.value)


def test_a_secret_value_is_kept_out_of_error_messages(fake: FakeServer) -> None:
    fake.answer(Answer(422, error("invalid", "value 'hunter2-pass' is too long")))
    with client(fake) as weir, pytest.raises(Invalid) as raised:
        weir.secrets.set("acme", "db", "hunter2-pass")
    assert "hunter2-pass" not in str(raised.value)


def test_writes_carry_the_manager_if_match_and_force(fake: FakeServer) -> None:
    fake.answer(Answer(200, namespace(revision=3)))
    with client(fake, manager="gitops:main") as weir:
        weir.namespaces.get("acme")
        weir.namespaces.put("acme", labels={"team": "data"}, if_match=2, force=True)
        read, write = fake.seen
        fake.answer(Answer(204))
        weir.files.delete("acme", "dir/a b.txt", if_match=0)
        (delete,) = fake.seen
    assert read.headers["User-Agent"] == f"weir-client/{__version__}"
    assert "X-Weir-Manager" not in read.headers
    assert (write.method, write.path, write.query) == (
        "PUT",
        "/api/v1/namespaces/acme",
        {"force": ["true"]},
    )
    assert (write.headers["X-Weir-Manager"], write.headers["If-Match"]) == ("gitops:main", '"2"')
    assert json.loads(write.body) == {
        "description": None,
        "variables": {},
        "labels": {"team": "data"},
        "allowed_namespaces": [],
    }
    assert (delete.path, delete.headers["If-Match"], delete.query) == (
        "/api/v1/namespaces/acme/files/dir/a%20b.txt", '"0"', {},
    )  # fmt: skip


def test_follow_logs_reconnects_from_the_last_event_until_the_end(fake: FakeServer) -> None:
    def log(seq: int) -> str:
        line = {"seq": seq, "at": "2025-01-31T08:00:00Z", "level": "INFO", "taskId": "t",
                "taskRunId": "r", "attempt": 1, "message": f"line {seq} ✓\u2028"}  # fmt: skip
        return f"id: {seq}\nevent: log\ndata: {json.dumps(line, ensure_ascii=False)}\n\n"

    fake.answer(
        Answer(events=[": connected\n\n", log(1), log(2)]),
        Answer(events=[log(2), log(3), 'event: end\ndata: {"state": "SUCCESS"}\n\n', log(4)]),
    )
    with client(fake) as weir:
        lines = list(weir.executions.follow_logs("run1"))
    assert [line.message for line in lines] == [
        "line 1 ✓\u2028",
        "line 2 ✓\u2028",
        "line 3 ✓\u2028",
    ]
    assert lines[0].at is not None and lines[0].at.tzinfo is not None
    first, second = fake.seen
    assert first.path == "/api/v1/executions/run1/logs/follow"
    assert "Last-Event-ID" not in first.headers
    assert (second.headers["Last-Event-ID"], second.query["after"]) == ("2", ["2"])


def execution(state: str, *runs: str) -> dict[str, Any]:
    return {
        "id": "run1", "namespace": "acme", "flowId": "hello",
        "state": {"current": state, "histories": []},
        "taskRunList": [{"id": f"r{i}", "taskId": "t", "state": {"current": s}} for i, s in enumerate(runs)],
    }  # fmt: skip


def test_wait_returns_once_the_execution_and_its_task_runs_have_ended(fake: FakeServer) -> None:
    fake.answer(
        Answer(200, execution("RUNNING", "RUNNING")),
        Answer(200, execution("SUCCESS", "SUCCESS", "RUNNING")),
        Answer(200, execution("SUCCESS", "SUCCESS", "SUCCESS")),
    )
    with client(fake) as weir:
        done = weir.executions.wait("run1", timeout=10, poll=0.01)
    assert (done.state, len(fake.seen)) == ("SUCCESS", 3)
    assert [run["id"] for run in done.task_runs] == ["r0", "r1"]


def test_wait_gives_up_naming_the_execution_and_its_last_state(fake: FakeServer) -> None:
    fake.answer(Answer(200, execution("PAUSED", "PAUSED")))
    with client(fake) as weir, pytest.raises(TimeoutError) as raised:
        weir.executions.wait("run1", timeout=0.2, poll=0.05)
    assert str(raised.value) == "execution run1 did not end within 0.2s; it is PAUSED"


def test_a_url_without_scheme_is_refused_and_errors_are_client_errors() -> None:
    with pytest.raises(ValueError, match="must start with http:// or https://"):
        WeirClient("weir.example.com")
    assert issubclass(Unreachable, ClientError)


def test_validation_is_a_read_retried_like_a_get(fake: FakeServer) -> None:
    answer = [{"index": 0, "namespace": "a", "id": "f", "ok": True, "problems": []}]
    fake.answer(Answer(502, b"<html>Bad Gateway</html>"), Answer(200, answer))
    with client(fake) as weir:
        (found,) = weir.flows.validate("id: f\nnamespace: a\n")
        assert found.ok
        assert [s.path for s in fake.seen] == ["/api/v1/flows/validate"] * 2
