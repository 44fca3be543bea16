"""The Reconcile task (``io.weir.gitops.Reconcile``) run by a real worker against a live API server
that requires tokens, from real git repositories: a bare one as a file:// URL, and the same served
over smart HTTP with basic auth (``git http-backend``)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from controlplane.api import ApiSettings
from controlplane.api.auth import issue_token
from controlplane.client import WeirClient
from controlplane.client.errors import NotFound
from controlplane.engine.model import State
from controlplane.engine.ports import Store
from controlplane.engine.work import AttemptResult
from controlplane.store import StoreSettings
from tests.integration.api.conftest import LiveServer, serve
from tests.integration.tasks.conftest import Runner
from tests.integration.tasks.test_git import TOKEN as GIT_TOKEN
from tests.integration.tasks.test_git import Repo, git
from tests.integration.tasks.test_git import http_git as http_git  # a fixture
from tests.integration.tasks.test_git import repo as repo  # a fixture

RECONCILE = "io.weir.gitops.Reconcile"


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str]]:
    """A live server that requires tokens, and an admin token of it."""
    home = tmp_path_factory.mktemp("weir-home")
    server = serve(ApiSettings(store=StoreSettings(home=home), require_tokens=True))
    store: Store = server.server.config.app.state.store
    _, token = issue_token(store, "reconciler", "admin")
    yield server, token
    server.stop()


@pytest.fixture
def weir(guarded: tuple[LiveServer, str]) -> Iterator[WeirClient]:
    server, token = guarded
    with WeirClient(server.url, token, retries=0) as client:
        yield client


@pytest.fixture
def reconcile_task(guarded: tuple[LiveServer, str], runner: Runner) -> dict[str, object]:
    """The task's properties, reaching the server with the token kept as a secret."""
    server, token = guarded
    runner.put_secret(runner.namespace, "WEIR_TOKEN", token)
    return {
        "id": "reconcile",
        "type": RECONCILE,
        "server": server.url,
        "token": "{{ secret('WEIR_TOKEN') }}",
        "branch": "main",
    }


def flow(namespace: str, flow_id: str, message: str = "hi") -> str:
    return (
        f"id: {flow_id}\nnamespace: {namespace}\ntasks:\n"
        f"  - id: say\n    type: io.kestra.plugin.core.log.Log\n    message: {message}\n"
    )


def source(name: str, namespace: str) -> dict[str, str | None]:
    """A desired-state repository: weir.yaml, two flows and a KV pair of one namespace."""
    base = f"namespaces/{namespace}"
    return {
        "weir.yaml": f"name: {name}\nnamespaces: [{namespace}]\n",
        f"{base}/flows/hello.yaml": flow(namespace, "hello"),
        f"{base}/flows/bye.yaml": flow(namespace, "bye"),
        f"{base}/kv.yaml": "region: eu\n",
    }


def everything_said(runner: Runner, result: AttemptResult) -> str:
    return "\n".join(runner.messages(result)) + repr(result.outputs) + str(result.error)


def test_a_first_run_creates_and_a_second_finds_everything_unchanged(
    runner: Runner,
    repo: Repo,
    reconcile_task: dict[str, object],
    weir: WeirClient,
    guarded: tuple[LiveServer, str],
) -> None:
    repo.commit(source("team-a", "company.a"))
    task = {**reconcile_task, "url": repo.url}

    first = runner.run(task)
    assert first.state is State.SUCCESS, first.error
    head = git("rev-parse", "HEAD", cwd=repo.work)
    assert first.outputs["ready"] is True
    assert (first.outputs["state"], first.outputs["commit"]) == ("Ready", head)
    assert first.outputs["created"] == 4  # the namespace, the KV pair and two flows
    assert (first.outputs["updated"], first.outputs["deleted"]) == (0, 0)
    said = runner.messages(first)
    assert "created flow company.a/hello" in said
    assert "created KV pair company.a/region" in said
    assert said[-1].startswith("Ready (ReconciliationSucceeded): 4 created")

    hello = weir.flows.get("company.a", "hello")
    assert hello.managed_by == "gitops:team-a"
    assert weir.kv.get("company.a", "region").value == "eu"

    second = runner.run(task)
    assert second.state is State.SUCCESS, second.error
    assert (second.outputs["created"], second.outputs["updated"]) == (0, 0)
    assert second.outputs["unchanged"] == 4
    assert weir.flows.get("company.a", "hello").revision == hello.revision
    _, token = guarded
    assert token not in everything_said(runner, first) + everything_said(runner, second)


def test_a_change_is_applied_and_a_removed_flow_pruned_when_asked(
    runner: Runner, repo: Repo, reconcile_task: dict[str, object], weir: WeirClient
) -> None:
    repo.commit(source("team-c", "company.c"))
    task = {**reconcile_task, "url": repo.url}
    assert runner.run(task).state is State.SUCCESS
    repo.commit(
        {
            "namespaces/company.c/flows/hello.yaml": flow("company.c", "hello", "hello again"),
            "namespaces/company.c/flows/bye.yaml": None,
        }
    )

    kept = runner.run(task)
    assert kept.state is State.SUCCESS, kept.error
    assert (kept.outputs["updated"], kept.outputs["deleted"]) == (1, 0)
    assert weir.flows.get("company.c", "bye").managed_by == "gitops:team-c"

    pruned = runner.run({**task, "prune": "{{ 1 == 1 }}"})
    assert pruned.state is State.SUCCESS, pruned.error
    assert (pruned.outputs["updated"], pruned.outputs["deleted"]) == (0, 1)
    assert "deleted flow company.c/bye" in runner.messages(pruned)
    with pytest.raises(NotFound):
        weir.flows.get("company.c", "bye")
    assert "hello again" in weir.flows.get("company.c", "hello").source


def test_a_change_made_in_weir_is_drift_set_back_with_a_warning(
    runner: Runner, repo: Repo, reconcile_task: dict[str, object], weir: WeirClient
) -> None:
    repo.commit(source("team-g", "company.g"))
    task = {**reconcile_task, "url": repo.url}
    assert runner.run(task).state is State.SUCCESS
    weir.flows.put(flow("company.g", "hello", "edited by hand"), force=True)

    result = runner.run(task)

    assert result.state is State.WARNING, result.error
    assert result.outputs["drift"] == ["flow company.g/hello"]
    assert result.outputs["updated"] == 1
    said = runner.messages(result)
    assert "drift: flow company.g/hello was changed in Weir since this source last wrote it" in said
    assert "edited by hand" not in weir.flows.get("company.g", "hello").source


def test_a_timeout_stops_a_reconcile_waiting_on_a_server_that_never_answers(
    runner: Runner, repo: Repo, reconcile_task: dict[str, object]
) -> None:
    repo.commit(source("team-h", "company.h"))
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts, never answers
        port = silent.getsockname()[1]
        task = {
            **reconcile_task,
            "url": repo.url,
            "server": f"http://127.0.0.1:{port}",
            "timeout": "PT1S",
        }
        result = runner.run(task)

    assert result.state is State.FAILED
    assert str(result.error).startswith("Timeout after")


def test_an_invalid_flow_fails_the_task_at_its_file_and_line_and_writes_nothing(
    runner: Runner, repo: Repo, reconcile_task: dict[str, object], weir: WeirClient
) -> None:
    files = source("team-b", "company.b")
    files["namespaces/company.b/flows/broken.yaml"] = (
        "id: broken\nnamespace: company.b\ntasks:\n"
        "  - id: say\n    type: io.kestra.plugin.core.log.Lgo\n    message: hi\n"
    )
    repo.commit(files)

    result = runner.run({**reconcile_task, "url": repo.url})

    assert result.state is State.FAILED
    assert result.error is not None
    assert result.error.startswith("Stalled (InvalidSource): ")
    assert "namespaces/company.b/flows/broken.yaml:5:" in result.error
    assert "io.kestra.plugin.core.log.Lgo" in result.error
    assert result.outputs["ready"] is False
    assert (result.outputs["state"], result.outputs["reason"]) == ("Stalled", "InvalidSource")
    assert result.outputs["created"] == 0
    with pytest.raises(NotFound):
        weir.flows.get("company.b", "hello")


def test_a_dry_run_reports_the_changes_and_writes_nothing(
    runner: Runner, repo: Repo, reconcile_task: dict[str, object], weir: WeirClient
) -> None:
    repo.commit(source("team-d", "company.d"))

    result = runner.run({**reconcile_task, "url": repo.url, "dryRun": True})

    assert result.state is State.SUCCESS, result.error
    assert (result.outputs["planned"], result.outputs["created"]) == (4, 0)
    assert result.outputs["dryRun"] is True
    assert "would create flow company.d/bye" in runner.messages(result)
    with pytest.raises(NotFound):
        weir.flows.get("company.d", "bye")


def test_a_wrong_api_token_fails_without_appearing_anywhere(
    runner: Runner, repo: Repo, reconcile_task: dict[str, object]
) -> None:
    repo.commit(source("team-e", "company.e"))
    wrong = "weir_NotTheRightTokenButSecretAnyway0123456789abc"

    result = runner.run({**reconcile_task, "url": repo.url, "token": wrong})

    assert result.state is State.FAILED
    assert "the token is unknown, revoked or expired" in str(result.error)
    assert result.outputs["ready"] is False
    assert wrong not in everything_said(runner, result)


def test_https_credentials_reach_git_and_never_appear(
    runner: Runner,
    repo: Repo,
    http_git: tuple[str, list[str]],
    reconcile_task: dict[str, object],
    weir: WeirClient,
) -> None:
    url, authorizations = http_git
    repo.commit(source("team-f", "company.f"))

    result = runner.run({**reconcile_task, "url": url, "username": "bot", "password": GIT_TOKEN})

    assert result.state is State.SUCCESS, result.error
    assert weir.flows.get("company.f", "hello").managed_by == "gitops:team-f"
    assert any(a.startswith("Basic ") for a in authorizations)
    assert result.outputs["location"] == url
    assert GIT_TOKEN not in everything_said(runner, result)


def test_credentials_written_in_the_url_are_blanked_when_the_fetch_fails(
    runner: Runner, reconcile_task: dict[str, object]
) -> None:
    closed = "http://127.0.0.1:9/nothing.git"  # the discard port: nothing listens there
    url = closed.replace("://", f"://bot:{GIT_TOKEN}@")

    result = runner.run({**reconcile_task, "url": url})

    assert result.state is State.FAILED
    assert result.outputs["ready"] is False
    assert "127.0.0.1:9/nothing.git" in str(result.error)
    assert GIT_TOKEN not in everything_said(runner, result)


def test_a_server_that_is_not_a_url_is_refused_by_name(
    runner: Runner, reconcile_task: dict[str, object], repo: Repo
) -> None:
    result = runner.run({**reconcile_task, "url": repo.url, "server": "weir:8080"})

    assert result.state is State.FAILED
    assert "'server' must be the http(s) URL of a Weir server" in str(result.error)
