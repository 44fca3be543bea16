"""Argo CD Sync and Status against a local double of the API server's REST API, with
kestra-io/blueprints' ``argocd-event-driven-sync`` flow run as written (its secrets in the
store, Slack answered by the Slack double)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from controlplane.engine.model import State
from tests.doubles.argocd import HEAD, ArgoCDDouble
from tests.doubles.slack import SlackDouble
from tests.integration.compat.conftest import Flows

TOKEN = "eyJhbGciOiJIUzI1NiJ9.argocd-apikey-7f3a"

# kestra-io/blueprints flows/argocd-event-driven-sync.yaml without its ``extend`` documentation.
EVENT_DRIVEN_SYNC = """
id: argocd-event-driven-sync
namespace: company.team

inputs:
  - id: application
    type: STRING
    defaults: my-argocd-app
    description: Argo CD application to sync.

tasks:
  - id: sync
    type: io.kestra.plugin.argocd.apps.Sync
    description: Trigger an Argo CD sync, pruning out-of-band resources.
    application: "{{ inputs.application }}"
    prune: true
    revision: HEAD

  - id: status
    type: io.kestra.plugin.argocd.apps.Status
    description: Confirm the application is healthy after the sync.
    application: "{{ inputs.application }}"

  - id: notify
    type: io.kestra.plugin.slack.notifications.SlackIncomingWebhook
    description: Report the sync result to Slack.
    url: "{{ secret('SLACK_WEBHOOK_URL') }}"
    payload: |
      {
        "text": "Argo CD synced {{ inputs.application }} after CI completion."
      }

pluginDefaults:
  - type: io.kestra.plugin.argocd.apps.Sync
    values:
      server: "{{ secret('ARGOCD_SERVER') }}"
      token: "{{ secret('ARGOCD_TOKEN') }}"
  - type: io.kestra.plugin.argocd.apps.Status
    values:
      server: "{{ secret('ARGOCD_SERVER') }}"
      token: "{{ secret('ARGOCD_TOKEN') }}"

triggers:
  - id: on_ci_complete
    type: io.kestra.plugin.core.trigger.Webhook
    description: CI posts here when a build completes to drive the sync.
    key: "{{ secret('ARGOCD_SYNC_WEBHOOK_KEY') }}"
"""


@pytest.fixture
def argocd(flows: Flows) -> Iterator[ArgoCDDouble]:
    with ArgoCDDouble(token=TOKEN, apps=("my-argocd-app",)) as double:
        double.polls = 2
        with flows.store.unit() as repos:
            repos.secrets.update_secret("company.team", "ARGOCD_SERVER", double.url)
            repos.secrets.update_secret("company.team", "ARGOCD_TOKEN", TOKEN)
            repos.secrets.update_secret("company.team", "ARGOCD_SYNC_WEBHOOK_KEY", "ci-key-1")
        yield double


def test_the_event_driven_sync_blueprint_syncs_checks_and_notifies(
    flows: Flows, argocd: ArgoCDDouble
) -> None:
    with SlackDouble() as slack:
        with flows.store.unit() as repos:
            repos.secrets.update_secret("company.team", "SLACK_WEBHOOK_URL", slack.webhook_url)
        final = flows.run(EVENT_DRIVEN_SYNC)
        assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
        assert slack.messages == [{"text": "Argo CD synced my-argocd-app after CI completion."}]
    assert argocd.syncs == [
        {
            "name": "my-argocd-app",
            "prune": True,
            "dryRun": False,
            "revision": "HEAD",
            "strategy": {"hook": {"force": False}},
        }
    ]
    outputs = {r.task_id: r.outputs for r in final.task_runs}
    sync = outputs["sync"]
    assert (sync["syncStatus"], sync["healthStatus"], sync["exitCode"]) == ("Synced", "Healthy", 0)
    assert sync["revision"] == HEAD  # the commit HEAD resolved to
    assert [r["kind"] for r in sync["resources"]] == ["Service", "Deployment"]
    assert '"phase": "Succeeded"' in sync["rawOutput"]
    status = outputs["status"]
    assert (status["syncStatus"], status["healthStatus"]) == ("Synced", "Healthy")
    assert status["conditions"] == []
    # The sync waited for the controller: status reads until the operation ended.
    assert len(argocd.requests_to("GET", "/api/v1/applications/my-argocd-app")) >= 3
    assert all(TOKEN not in line for line in flows.logs(final))


def test_a_failed_sync_fails_the_task_with_argo_cds_message(
    flows: Flows, argocd: ArgoCDDouble
) -> None:
    argocd.outcomes = ["Failed"]
    final = flows.run(
        """
id: argocd-sync-fails
namespace: company.team
tasks:
  - id: sync
    type: io.kestra.plugin.argocd.apps.Sync
    server: "{{ secret('ARGOCD_SERVER') }}"
    token: "{{ secret('ARGOCD_TOKEN') }}"
    application: my-argocd-app
    force: true
    dryRun: true
    pollFrequency: PT0.05S
"""
    )
    assert final.state is State.FAILED
    errors = flows.logs(final, "ERROR")
    assert any(
        "Argo CD sync of my-argocd-app completed with phase Failed: one or more objects failed"
        in line
        for line in errors
    ), errors
    assert argocd.syncs[0]["strategy"] == {"hook": {"force": True}}
    assert argocd.syncs[0]["dryRun"] is True
    assert "revision" not in argocd.syncs[0]
    (run,) = final.task_runs
    assert run.outputs["healthStatus"] == "Degraded"
    assert run.outputs["revision"] == HEAD


def test_status_refresh_and_an_unknown_application(flows: Flows, argocd: ArgoCDDouble) -> None:
    final = flows.run(
        f"""
id: argocd-status
namespace: company.team
tasks:
  - id: refreshed
    type: io.kestra.plugin.argocd.apps.Status
    server: "{{{{ secret('ARGOCD_SERVER') }}}}"
    token: {TOKEN}
    application: my-argocd-app
    refresh: true
  - id: missing
    type: io.kestra.plugin.argocd.apps.Status
    server: "{{{{ secret('ARGOCD_SERVER') }}}}"
    token: {TOKEN}
    application: no-such-app
"""
    )
    assert final.state is State.FAILED
    assert argocd.refreshes == 1
    outputs = {r.task_id: r.outputs for r in final.task_runs}
    assert outputs["refreshed"]["syncStatus"] == "OutOfSync"
    assert outputs["refreshed"]["healthStatus"] == "Missing"
    errors = flows.logs(final, "ERROR")
    assert any(
        'Argo CD API error 404 on GET /api/v1/applications/no-such-app: applications.argoproj.io "no-such-app" not found'
        in line
        for line in errors
    ), errors
    assert all(TOKEN not in line for line in flows.logs(final))


def test_a_sync_refused_while_another_runs_names_the_reason(
    flows: Flows, argocd: ArgoCDDouble
) -> None:
    argocd.apps["my-argocd-app"]["operation"] = {"sync": {"revision": HEAD}}
    final = flows.run(
        """
id: argocd-busy
namespace: company.team
tasks:
  - id: sync
    type: io.kestra.plugin.argocd.apps.Sync
    server: "{{ secret('ARGOCD_SERVER') }}"
    token: "{{ secret('ARGOCD_TOKEN') }}"
    application: my-argocd-app
"""
    )
    assert final.state is State.FAILED
    errors = flows.logs(final, "ERROR")
    assert any(
        "400" in line and "another operation is already in progress" in line for line in errors
    )
    assert len(argocd.requests_to("POST", "/api/v1/applications/my-argocd-app/sync")) == 1
