"""The web UI in a real headless Chromium against the real server (tokens required): sign in,
start a flow from its form and watch it run, follow a subflow link in the topology, diff two
revisions, be refused editing a Terraform-managed flow, edit and save an unmanaged one, backfill
a schedule, and see only what a restricted token reaches."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.ui.conftest import Server, sign_in
from tests.waiting import wait_until

pytestmark = pytest.mark.slow

CHILD = """id: child
namespace: ui.shop
inputs:
  - id: order
    type: STRING
    required: false
tasks:
  - id: pack
    type: io.kestra.plugin.core.log.Log
    message: "packing {{ inputs.order }}"
"""

ORDERS = """id: orders
namespace: ui.shop
description: Takes an order, waits for approval, ships it
inputs:
  - id: customer
    type: STRING
  - id: quantity
    type: INT
    defaults: 1
  - id: express
    type: BOOLEAN
    defaults: false
tasks:
  - id: receive
    type: io.kestra.plugin.core.log.Log
    message: "order from {{ inputs.customer }} x{{ inputs.quantity }}"
  - id: approve
    type: io.kestra.plugin.core.flow.Pause
    onResume:
      - id: approver
        type: STRING
  - id: ship
    type: io.kestra.plugin.core.flow.Subflow
    namespace: ui.shop
    flowId: child
    inputs:
      order: "{{ inputs.customer }}"
  - id: done
    type: io.kestra.plugin.core.log.Log
    message: "order of {{ inputs.customer }} complete"
errors:
  - id: alert
    type: io.kestra.plugin.core.log.Log
    level: ERROR
    message: order failed
"""

NIGHTLY = """id: nightly
namespace: ui.shop
triggers:
  - id: hourly
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 * * * *"
tasks:
  - id: tick
    type: io.kestra.plugin.core.log.Log
    message: "tick {{ trigger.date }}"
"""

MANAGED = """id: billing
namespace: ui.shop
tasks:
  - id: invoice
    type: io.kestra.plugin.core.log.Log
    message: invoicing
"""

NOTES = """id: notes
namespace: ui.shop
tasks:
  - id: say
    type: io.kestra.plugin.core.log.Log
    message: first words
"""

OTHER = """id: elsewhere
namespace: ui.other
tasks:
  - id: hi
    type: io.kestra.plugin.core.log.Log
    message: hi
"""


@pytest.fixture(scope="module")
def flows(server: Server) -> Server:
    for source in (CHILD, ORDERS, NIGHTLY, NOTES, OTHER):
        server.put_flow(source)
    server.put_flow(ORDERS.replace("complete", "shipped and complete"))  # revision 2
    server.put_flow(MANAGED, manager="terraform")
    return server


def shot(page: Page, artifacts: Path, name: str) -> None:
    page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)


def test_signing_in_needs_a_valid_token(page: Page, flows: Server, artifacts: Path) -> None:
    page.goto(flows.url + "/")
    expect(page).to_have_url(re.compile(r"/ui/login"))
    shot(page, artifacts, "sign-in")
    page.get_by_label("Token").fill("weir_not-a-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("unknown, revoked or expired")
    page.get_by_label("Token").fill(flows.admin)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/ui/executions"))
    expect(page.get_by_role("heading", name=re.compile("Executions"))).to_be_visible()
    expect(page.get_by_text("ui-admin · write")).to_be_visible()


def test_start_from_form_and_watch_it_run(page: Page, flows: Server, artifacts: Path) -> None:
    sign_in(page, flows, flows.admin, "/ui/flows/ui.shop/orders")
    page.get_by_label("customer").fill("Ada")
    page.get_by_label("quantity").fill("3")
    page.get_by_label("express").check()
    shot(page, artifacts, "flow-overview")
    page.get_by_role("button", name="Start").click()
    expect(page).to_have_url(re.compile(r"/ui/executions/\w+"))

    # The execution pauses at 'approve': the page shows it, and the first log line arrives.
    summary = page.locator("#live .summary")
    expect(summary).to_have_attribute("data-state", "PAUSED")
    expect(page.locator("#logs")).to_contain_text("order from Ada x3")
    expect(page.locator(".g-row[data-task=approve]")).to_have_attribute("data-state", "PAUSED")
    expect(page.locator(".g-row[data-task=done]")).to_have_count(0)
    shot(page, artifacts, "execution-paused")

    # Resumed from the page, the Gantt and the logs follow without a reload.
    page.get_by_text("Resume…").click()
    page.get_by_label("approver").fill("Grace")
    page.get_by_role("button", name="Resume", exact=True).click()
    expect(summary).to_have_attribute("data-state", "SUCCESS")
    expect(page.locator(".g-row[data-task=done]")).to_have_attribute("data-state", "SUCCESS")
    expect(page.locator(".g-row[data-task=ship]")).to_have_attribute("data-state", "SUCCESS")
    expect(page.locator("#logs")).to_contain_text("order of Ada shipped and complete")
    expect(page.get_by_role("button", name="Kill")).to_be_disabled()
    page.locator(".tree summary", has_text="approve").click()
    expect(page.locator(".tree")).to_contain_text("Grace")

    # Filtering the logs by task hides the others' lines.
    page.get_by_label("Log task").select_option("done")
    expect(page.locator("#logs .log:visible")).to_have_count(1)
    inputs = page.locator("section[aria-labelledby=in-h]")
    expect(inputs).to_contain_text("Ada")
    shot(page, artifacts, "execution-done")

    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, artifacts, "execution-phone")

    # The subflow's execution is one click away.
    page.locator(".tree summary", has_text="ship").click()
    page.locator(".tree").get_by_role("link").click()
    expect(page.get_by_role("link", name="ui.shop/child")).to_be_visible()
    expect(page.locator("#logs")).to_contain_text("packing Ada")


def test_topology_links_to_the_subflow(page: Page, flows: Server, artifacts: Path) -> None:
    sign_in(page, flows, flows.admin, "/ui/flows/ui.shop/orders?tab=topology")
    topology = page.get_by_label("Topology")
    expect(topology.locator("#task-approve")).to_contain_text("Pause")
    expect(page.get_by_role("region", name="errors")).to_contain_text("alert")
    shot(page, artifacts, "flow-topology")
    topology.get_by_role("link", name="ui.shop/child").click()
    expect(page).to_have_url(re.compile(r"/ui/flows/ui.shop/child$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("child")
    called_by = page.locator("section[aria-labelledby=rel-h]")
    expect(called_by.get_by_role("link", name="ui.shop/orders")).to_be_visible()


def test_diff_between_two_revisions(page: Page, flows: Server, artifacts: Path) -> None:
    sign_in(page, flows, flows.admin, "/ui/flows/ui.shop/orders?tab=revisions")
    page.get_by_label("From").select_option("1")
    page.get_by_label("To").select_option("2")
    page.get_by_role("button", name="Compare").click()
    expect(page.get_by_role("heading", name="Revision 1 → 2")).to_be_visible()
    expect(page.locator("tr.d-del")).to_contain_text("complete")
    expect(page.locator("tr.d-add")).to_contain_text("shipped and complete")
    shot(page, artifacts, "flow-revisions-diff")


def test_a_terraform_managed_flow_is_not_edited(page: Page, flows: Server, artifacts: Path) -> None:
    sign_in(page, flows, flows.admin, "/ui/flows/ui.shop/billing")
    expect(page.locator(".managed")).to_contain_text("Managed by terraform")
    page.get_by_role("link", name="Edit").click()
    refusal = page.get_by_role("alert")
    expect(refusal).to_contain_text("This flow is managed by terraform")
    expect(refusal).to_contain_text("terraform apply")
    expect(page.get_by_label("Flow YAML")).to_have_count(0)
    shot(page, artifacts, "flow-managed-refused")


def test_edit_and_save_an_unmanaged_flow(page: Page, flows: Server, artifacts: Path) -> None:
    sign_in(page, flows, flows.admin, "/ui/flows/ui.shop/notes/edit")
    editor = page.get_by_label("Flow YAML")
    expect(page.locator("#validity")).to_have_text("Valid.")
    broken = NOTES.replace("    type: io.kestra.plugin.core.log.Log\n", "")
    editor.fill(broken)
    expect(page.locator("#validity")).to_contain_text("error")
    problem = page.locator("#problems .problem.error").first
    expect(problem).to_contain_text("line 4")
    expect(page.locator("#gutter .bad")).to_have_text(["4"])
    shot(page, artifacts, "editor-error")
    editor.fill(NOTES.replace("first words", "second words"))
    expect(page.locator("#validity")).to_have_text("Valid.")
    page.get_by_role("button", name="Save as revision 2").click()
    expect(page).to_have_url(re.compile(r"/ui/flows/ui.shop/notes\?tab=revisions"))
    expect(page.locator("tr.d-add")).to_contain_text("second words")
    saved = flows.api("GET", "/flows/ui.shop/notes").json()
    assert saved["revision"] == 2
    assert "second words" in saved["source"]


def test_backfill_a_schedule(page: Page, flows: Server, artifacts: Path) -> None:
    sign_in(page, flows, flows.admin, "/ui/flows/ui.shop/nightly?tab=triggers")
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    start, end = hour - timedelta(hours=3), hour - timedelta(hours=1)
    form = page.get_by_role("form", name="Backfill hourly")
    form.get_by_label("From").fill(start.strftime("%Y-%m-%dT%H:%M"))
    form.get_by_label("To").fill(end.strftime("%Y-%m-%dT%H:%M"))
    form.get_by_role("button", name="Backfill").click()
    expect(page.locator("#notice")).to_contain_text("backfill of hourly accepted")
    backfill: dict[str, object] = wait_until(
        lambda: flows.api("GET", "/triggers/ui.shop/nightly/hourly").json().get("backfill") or {},
        lambda seen: bool(seen.get("done")),
        "the backfill",
    )
    assert (backfill.get("done"), backfill.get("created")) == (True, 2), backfill
    page.reload()
    expect(page.locator(".backfill-state")).to_contain_text("2 execution(s) created")
    shot(page, artifacts, "flow-triggers-backfill")


def test_lists_and_namespaces(page: Page, flows: Server, artifacts: Path) -> None:
    started = flows.api("POST", "/executions/ui.shop/child", json={"labels": {"team": "ops"}})
    sign_in(page, flows, flows.admin, "/ui/executions?flow=child&labels=team:ops")
    row = page.get_by_role("row", name="ui.shop/child")
    expect(row).to_have_count(1)
    expect(row.locator(".state")).to_have_text("SUCCESS")  # followed live from the list
    expect(row.get_by_role("link").first).to_have_attribute(
        "href", f"/ui/executions/{started.json()['id']}"
    )
    shot(page, artifacts, "executions")
    flows.api("POST", "/executions/ui.shop/child", json={"labels": {"team": "ops"}})
    expect(page.get_by_role("status").filter(has_text="1 newer")).to_be_visible()
    page.get_by_role("link", name="show them").click()
    expect(page.get_by_role("row", name="ui.shop/child")).to_have_count(2)
    page.goto(flows.url + "/ui/flows?namespace=ui.shop")
    expect(page.get_by_role("row", name="ui.shop/billing")).to_contain_text("terraform")
    expect(page.get_by_role("row", name="ui.shop/child")).to_contain_text("SUCCESS")
    shot(page, artifacts, "flows")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, artifacts, "flows-phone")
    page.get_by_role("link", name="ui.shop/orders").click()
    expect(page.get_by_role("button", name="Start")).to_be_visible()
    shot(page, artifacts, "flow-overview-phone")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(flows.url + "/ui/namespaces")
    page.get_by_role("link", name="ui.shop").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("ui.shop")
    expect(page.get_by_role("link", name="orders")).to_be_visible()
    shot(page, artifacts, "namespace")


def test_a_restricted_token_sees_only_its_namespaces(page: Page, flows: Server) -> None:
    sign_in(page, flows, flows.reader, "/ui/flows")
    expect(page.get_by_role("link", name="ui.other/elsewhere")).to_be_visible()
    expect(page.get_by_role("link", name="ui.shop/orders")).to_have_count(0)
    expect(page.get_by_role("link", name="New flow")).to_have_count(0)
    page.goto(flows.url + "/ui/flows/ui.shop/orders")
    expect(page.get_by_role("alert")).to_contain_text("does not reach namespace 'ui.shop'")
    page.goto(flows.url + "/ui/executions")
    expect(page.get_by_role("row", name="ui.shop")).to_have_count(0)


SYNCED = """id: synced
namespace: ui.git
tasks:
  - id: step
    type: io.kestra.plugin.core.log.Log
    message: from git
"""


def test_gitops_source_and_drift(page: Page, flows: Server, artifacts: Path) -> None:
    flows.put_flow(SYNCED, manager="gitops:platform")
    status = {
        "source": "platform",
        "location": "https://git.example.com/platform.git",
        "commit": "4b825dc642cb6eb9a060e54bf8d69288fbee4904",
        "environment": None,
        "finished": "2026-01-02T03:04:05+00:00",
        "ready": True,
        "reason": "ReconciliationSucceeded",
        "message": "applied 1 object",
        "counts": {"created": 1},
        "inventory": {"flow": {"ui.git": {"synced": 1}}},
    }
    flows.api("PUT", "/namespaces/system/kv/gitops.platform", json={"value": status})
    sign_in(page, flows, flows.admin, "/ui/flows/ui.git/synced")
    managed = page.locator(".managed")
    expect(managed).to_contain_text("GitOps source platform, commit 4b825dc642cb")
    expect(managed).to_contain_text("No drift.")

    # A change made in Weir (forced past the manager) is drift, on the flow and its source.
    flows.put_flow(SYNCED.replace("from git", "changed by hand"), manager="gitops:platform")
    page.reload()
    expect(managed).to_contain_text("Drift: it applied revision 1, the flow is now at revision 2")
    page.get_by_role("link", name="GitOps", exact=True).click()
    source = page.get_by_role("region", name="platform")
    expect(source).to_contain_text("4b825dc642cb6eb9a060e54bf8d69288fbee4904")
    expect(source).to_contain_text("flow ui.git/synced: revision 1 → 2 (by gitops:platform)")
    shot(page, artifacts, "gitops")


def test_editor_completes_types_and_keys(page: Page, flows: Server, artifacts: Path) -> None:
    sign_in(page, flows, flows.admin, "/ui/flows/new")
    editor = page.get_by_label("Flow YAML")
    editor.fill("id: typed\nnamespace: ui.shop\ntasks:\n  - id: hello\n")
    editor.press("Control+End")
    editor.press_sequentially("    type: core.log.Lo")
    completions = page.get_by_role("listbox", name="Completions")
    # The first request for completions reads every type's model: it may take a while.
    expect(completions.get_by_role("option").first).to_have_text(
        "io.kestra.plugin.core.log.Log (task)", timeout=60_000
    )
    shot(page, artifacts, "editor-completion")
    editor.press("Enter")
    editor.press_sequentially("\n    mess")
    expect(completions.get_by_role("option").first).to_have_text("message (required)")
    editor.press("Enter")
    editor.press_sequentially("hello from the editor")
    expect(editor).to_have_value(
        "id: typed\nnamespace: ui.shop\ntasks:\n  - id: hello\n"
        "    type: io.kestra.plugin.core.log.Log\n    message: hello from the editor"
    )
    expect(page.locator("#validity")).to_have_text("Valid.")
    page.get_by_role("button", name="Create").click()
    expect(page).to_have_url(re.compile(r"/ui/flows/ui.shop/typed\?tab=revisions"))


NAP = """id: nap
namespace: ui.ops
tasks:
  - id: sleep
    type: io.kestra.plugin.core.flow.Sleep
    duration: PT60S
"""

UPLOAD = """id: upload
namespace: ui.ops
inputs:
  - id: data
    type: FILE
  - id: token
    type: SECRET
tasks:
  - id: count
    type: io.kestra.plugin.core.debug.Return
    format: "{{ read(inputs.data) | trim | split('\\n') | length }}"
outputs:
  - id: rows
    type: STRING
    value: "{{ outputs.count.value }}"
"""


def test_kill_and_replay_from_the_page(page: Page, flows: Server, artifacts: Path) -> None:
    flows.put_flow(NAP)
    started = flows.api("POST", "/executions/ui.ops/nap").json()
    sign_in(page, flows, flows.admin, f"/ui/executions/{started['id']}")
    summary = page.locator("#live .summary")
    expect(summary).to_have_attribute("data-state", "RUNNING")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Kill").click()
    expect(summary).to_have_attribute("data-state", "KILLED")
    expect(page.get_by_role("button", name="Restart")).to_be_enabled()
    page.get_by_role("button", name="Replay").click()
    expect(page).not_to_have_url(re.compile(started["id"]))
    expect(page.locator("#live .summary")).to_have_attribute("data-state", "RUNNING")
    replayed = page.url.rsplit("/", 1)[-1]
    flows.api("DELETE", f"/executions/{replayed}/kill")


def test_a_file_input_from_the_form_and_a_secret_never_shown(
    page: Page, flows: Server, artifacts: Path, tmp_path: Path
) -> None:
    flows.put_flow(UPLOAD)
    data = tmp_path / "rows.csv"
    data.write_text("a\nb\nc\n")
    sign_in(page, flows, flows.admin, "/ui/flows/ui.ops/upload")
    page.get_by_label("data").set_input_files(str(data))
    page.get_by_label("token").fill("hunter2-do-not-show")
    page.get_by_role("button", name="Start").click()
    expect(page.locator("#live .summary")).to_have_attribute("data-state", "SUCCESS")
    outputs = page.locator("section[aria-labelledby=out-h]")
    expect(outputs).to_contain_text("rows")
    expect(outputs).to_contain_text("3")
    inputs = page.locator("section[aria-labelledby=in-h]")
    expect(inputs).to_contain_text("********")
    assert "hunter2-do-not-show" not in page.content()
    with page.expect_download() as download:
        outputs.get_by_role("link", name="data").click()
    assert Path(download.value.path()).read_text() == "a\nb\nc\n"
    shot(page, artifacts, "execution-file-input")


def test_keyboard_reaches_the_content_and_the_filters(page: Page, flows: Server) -> None:
    sign_in(page, flows, flows.admin, "/ui/executions")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    page.keyboard.press("/")
    expect(page.get_by_label("Namespace")).to_be_focused()
    page.keyboard.type("ui.shop")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"namespace=ui.shop"))


UNNAMED = """() => [...document.querySelectorAll(
  'a[href], button, input:not([type=hidden]), select, textarea, [role=combobox]')]
  .filter((el) => !el.closest('[hidden]'))
  .filter((el) => {
    const named = el.getAttribute('aria-label') || el.getAttribute('aria-labelledby')
      || (el.labels && el.labels.length) || el.title;
    const text = ['A', 'BUTTON'].includes(el.tagName) && el.textContent.trim();
    return !(named || text);
  })
  .map((el) => el.outerHTML.slice(0, 120))"""


def test_every_control_has_an_accessible_name(page: Page, flows: Server) -> None:
    execution = flows.api("POST", "/executions/ui.shop/child").json()["id"]
    sign_in(page, flows, flows.admin, "/ui/executions")
    for path in (
        "/ui/executions",
        f"/ui/executions/{execution}",
        "/ui/flows",
        "/ui/flows/ui.shop/orders",
        "/ui/flows/ui.shop/orders?tab=topology",
        "/ui/flows/ui.shop/orders?tab=revisions",
        "/ui/flows/ui.shop/nightly?tab=triggers",
        "/ui/flows/ui.shop/notes/edit",
        "/ui/namespaces",
        "/ui/namespaces/ui.shop",
        "/ui/gitops",
    ):
        page.goto(flows.url + path)
        expect(page.locator("main")).to_be_visible()
        assert page.evaluate(UNNAMED) == [], path
