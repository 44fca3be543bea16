"""The real ``weir server standalone`` (tokens required) and Debian's headless Chromium driven by
Playwright. Screenshots go to ``$WEIR_ARTIFACTS/ui`` when set, else to the test session's
temporary folder; their folder is printed."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

from tests.standalone import WEIR, standalone

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass(frozen=True)
class Server:
    url: str
    admin: str
    """A write-scoped token that reaches every namespace."""
    reader: str
    """A read-scoped token that reaches only namespace ui.other."""

    def api(
        self, method: str, path: str, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> requests.Response:
        sent = {"Authorization": f"Bearer {self.admin}", **(headers or {})}
        url = f"{self.url}/api/v1{path}"
        response = requests.request(method, url, headers=sent, timeout=30, **kwargs)
        assert response.ok, response.text
        return response

    def put_flow(self, source: str, manager: str | None = None) -> dict[str, object]:
        fields = dict(line.split(": ", 1) for line in source.splitlines() if ": " in line[:12])
        namespace, flow_id = fields["namespace"], fields["id"]
        headers = {"Content-Type": "application/x-yaml"}
        if manager:
            headers["X-Weir-Manager"] = manager
        found: dict[str, object] = self.api(
            "PUT", f"/flows/{namespace}/{flow_id}", data=source, headers=headers
        ).json()
        return found


def _token(env: dict[str, str], cwd: Path, name: str, *options: str) -> str:
    done = subprocess.run(
        [WEIR, "token", "create", name, *options], env=env, cwd=cwd, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("ui-server")
    env = {**os.environ, "WEIR_HOME": str(home / ".weir")}
    admin = _token(env, home, "ui-admin", "--scope", "write")
    reader = _token(env, home, "ui-reader", "--scope", "read", "--namespace", "ui.other")
    with standalone(env, home, "--auth", "tokens") as (url, _output):
        yield Server(url=url, admin=admin, reader=reader)


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = os.environ.get("WEIR_ARTIFACTS")
    folder = Path(root) / "ui" if root else tmp_path_factory.mktemp("ui-screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    print(f"UI screenshots in {folder}")
    return folder


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    if not Path(CHROMIUM).exists():
        where = " (CI=true: nothing is skipped in CI)" if os.environ.get("CI") == "true" else ""
        pytest.fail(
            f"the UI tests drive Debian's chromium at {CHROMIUM}, which is not installed{where}; "
            "run scripts/system-deps.sh (apt-get install -y chromium)",
            pytrace=False,
        )
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    # Waits are on conditions; the bound only matters on a machine loaded by the whole suite.
    expect.set_options(timeout=30_000)
    launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield launched
    launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert not errors, f"the page's script failed: {errors}"


def sign_in(page: Page, server: Server, token: str, target: str = "/ui") -> None:
    page.goto(server.url + target)
    page.get_by_label("Token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/ui/login" not in url)
    page.wait_for_load_state()  # the page's script is running: keys and live parts work
