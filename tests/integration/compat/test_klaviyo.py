"""Klaviyo campaign, recipient-estimation and send-job reads against a local double of
Klaviyo's API, with kestra-io/blueprints' ``klaviyo-recipient-estimation-alert`` and
``klaviyo-send-job-monitoring`` flows run as written (secrets in the store, Slack answered by
the Slack double)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from controlplane.engine.model import State
from controlplane.tasks.ion_text import read_values
from tests.doubles import Reply
from tests.doubles.klaviyo import KlaviyoDouble
from tests.doubles.slack import SlackDouble
from tests.integration.compat.conftest import Flows

KEY = "pk_5f0c9e2a7b31d4e8a6c2f9b0"

# kestra-io/blueprints flows/klaviyo-recipient-estimation-alert.yaml without its documentation.
RECIPIENT_ESTIMATION_ALERT = r"""
id: klaviyo-recipient-estimation-alert
namespace: company.marketing

labels:
  team: marketing
  guardrail: klaviyo-presend


inputs:
  - id: campaign_id
    type: STRING
    description: Klaviyo campaign ID to estimate the audience for before sending.
    defaults: "01HXXXXXXXXXXXXXXXXXXXXXXX"
  - id: min_recipients
    type: INT
    description: |
      Minimum acceptable estimated audience size; below this is flagged. This
      default (500) is illustrative. Set it per list or segment to match your
      own guardrails.
    defaults: 500
  - id: max_recipients
    type: INT
    description: |
      Maximum acceptable estimated audience size; above this is flagged. This
      default (250000) is illustrative. Set it per list or segment, or derive
      it from a percentage of total list size.
    defaults: 250000
  - id: fail_on_out_of_range
    type: BOOLEAN
    description: |
      When true, an out-of-range estimate fails the execution after alerting,
      so a parent send-preparation flow calling this as a subflow can gate on
      the FAILED state. When false, the flow only alerts and stays SUCCESS.
    defaults: true

pluginDefaults:
  - type: io.kestra.plugin.klaviyo
    values:
      apiKey: "{{ secret('KLAVIYO_API_KEY') }}"
  - type: io.kestra.plugin.slack.notifications.SlackIncomingWebhook
    values:
      url: "{{ secret('SLACK_WEBHOOK_URL') }}"

tasks:
  - id: estimate_recipients
    type: io.kestra.plugin.klaviyo.campaign.GetRecipientCount
    description: |
      Read the current recipient estimate for the campaign. Klaviyo computes
      estimates asynchronously, so a freshly created campaign may not have a
      ready value yet; the downstream check distinguishes "estimate
      unavailable" from a real zero so the guardrail does not false-alarm.
    campaignIds:
      - "{{ inputs.campaign_id }}"
    fetchType: FETCH_ONE
    retry:
      type: constant
      interval: PT30S
      maxAttempt: 4
    timeout: PT5M

  - id: route_estimate
    type: io.kestra.plugin.core.flow.If
    description: Branch on whether the estimate is available, in range, or out of range.
    condition: "{{ outputs.estimate_recipients.row.attributes.estimated_recipient_count is not null }}"
    then:
      - id: check_audience_size
        type: io.kestra.plugin.core.flow.If
        description: Flag the estimate when it falls outside the acceptable range.
        condition: "{{ outputs.estimate_recipients.row.attributes.estimated_recipient_count < inputs.min_recipients or outputs.estimate_recipients.row.attributes.estimated_recipient_count > inputs.max_recipients }}"
        then:
          - id: alert_out_of_range
            type: io.kestra.plugin.slack.notifications.SlackIncomingWebhook
            description: Warn the marketing channel that the estimate is out of bounds.
            payload: |
              {
                "blocks": [
                  {
                    "type": "header",
                    "text": {
                      "type": "plain_text",
                      "text": "Klaviyo pre-send audience check failed"
                    }
                  },
                  {
                    "type": "section",
                    "fields": [
                      {
                        "type": "mrkdwn",
                        "text": "*Campaign:*\n{{ inputs.campaign_id }}"
                      },
                      {
                        "type": "mrkdwn",
                        "text": "*Estimated recipients:*\n{{ outputs.estimate_recipients.row.attributes.estimated_recipient_count }}"
                      },
                      {
                        "type": "mrkdwn",
                        "text": "*Allowed range:*\n{{ inputs.min_recipients }} to {{ inputs.max_recipients }}"
                      },
                      {
                        "type": "mrkdwn",
                        "text": "*Execution:*\n{{ execution.id }}"
                      }
                    ]
                  },
                  {
                    "type": "context",
                    "elements": [
                      {
                        "type": "mrkdwn",
                        "text": "Review the segment or list filters before scheduling this send."
                      }
                    ]
                  }
                ]
              }
          - id: fail_send_gate
            type: io.kestra.plugin.core.execution.Fail
            description: |
              Fail the execution after alerting so a calling send-prep flow can
              gate on the FAILED state. Skipped when fail_on_out_of_range is
              false.
            condition: "{{ inputs.fail_on_out_of_range }}"
            errorMessage: "Estimated recipients {{ outputs.estimate_recipients.row.attributes.estimated_recipient_count }} out of allowed range {{ inputs.min_recipients }} to {{ inputs.max_recipients }} for campaign {{ inputs.campaign_id }}."
        else:
          - id: log_in_range
            type: io.kestra.plugin.core.log.Log
            description: Record that the estimate is within range and no alert is needed.
            message: "Estimated recipients {{ outputs.estimate_recipients.row.attributes.estimated_recipient_count }} are within the allowed range for campaign {{ inputs.campaign_id }}."
    else:
      - id: alert_estimate_unavailable
        type: io.kestra.plugin.slack.notifications.SlackIncomingWebhook
        description: |
          Warn that no estimate is available yet (the estimation job has not
          finished). This is distinct from an estimate of zero and should not
          be treated as a passing check.
        messageText: ":warning: Klaviyo recipient estimate is not available yet for campaign {{ inputs.campaign_id }} (execution {{ execution.id }}). Re-run once the estimation job completes before sending."

outputs:
  - id: estimated_recipient_count
    type: INT
    description: The estimated recipient count, or null when the estimate is not yet available.
    value: "{{ outputs.estimate_recipients.row.attributes.estimated_recipient_count ?? null }}"
  - id: in_range
    type: BOOLEAN
    description: |
      True when an estimate was available and within the allowed range. A
      parent flow can read this output instead of (or in addition to) gating on
      the FAILED state.
    value: "{{ (outputs.estimate_recipients.row.attributes.estimated_recipient_count is not null) and (outputs.estimate_recipients.row.attributes.estimated_recipient_count >= inputs.min_recipients) and (outputs.estimate_recipients.row.attributes.estimated_recipient_count <= inputs.max_recipients) }}"

errors:
  - id: alert_on_failure
    type: io.kestra.plugin.slack.notifications.SlackIncomingWebhook
    description: |
      Alert if the estimation flow itself fails (bad API key, Klaviyo 5xx).
      Note this also fires when fail_on_out_of_range deliberately fails the run
      on an out-of-range audience, which is the intended gate signal.
    messageText: ":rotating_light: {{ flow.namespace }}.{{ flow.id }} failed or gated for campaign {{ inputs.campaign_id }} (execution {{ execution.id }})."
"""

# kestra-io/blueprints flows/klaviyo-send-job-monitoring.yaml without its documentation.
SEND_JOB_MONITORING = r"""
id: klaviyo-send-job-monitoring
namespace: company.marketing

labels:
  team: marketing-ops
  monitor: klaviyo-send


inputs:
  - id: job_ids
    type: ARRAY
    itemType: STRING
    description: |
      Klaviyo campaign send job IDs to monitor. Best used for jobs that are
      still in flight; once a job reaches a terminal state it stops changing,
      so prune completed IDs from this list (or feed it from a discovery step
      that lists recently created send jobs).
    defaults:
      - "01HZZZZZZZZZZZZZZZZZZZZZZZ"
  - id: alerting_statuses
    type: ARRAY
    itemType: STRING
    description: |
      Send job statuses that should page the team. Verify these against the
      Klaviyo Campaign Send Job API for your account before relying on them.
      "queued" is intentionally NOT treated as healthy here; a job stuck in a
      pre-send state is exactly what monitoring should surface.
    defaults:
      - cancelled
      - failed
      - error

pluginDefaults:
  - type: io.kestra.plugin.klaviyo
    values:
      apiKey: "{{ secret('KLAVIYO_API_KEY') }}"
  - type: io.kestra.plugin.slack.notifications.SlackIncomingWebhook
    values:
      url: "{{ secret('SLACK_WEBHOOK_URL') }}"

tasks:
  - id: get_send_jobs
    type: io.kestra.plugin.klaviyo.jobs.GetSendJob
    description: |
      Fetch the current state of every send job in the input. fetchType FETCH
      returns all rows so each job is evaluated, not just the first.
    jobIds: "{{ inputs.job_ids }}"
    fetchType: FETCH
    retry:
      type: constant
      interval: PT30S
      maxAttempt: 4
    timeout: PT5M

  - id: evaluate_jobs
    type: io.kestra.plugin.core.flow.ForEach
    description: Evaluate each fetched send job and alert only on a transition into a bad state.
    concurrencyLimit: 1
    values: "{{ outputs.get_send_jobs.rows ?? [] }}"
    tasks:
      - id: get_last_status
        type: io.kestra.plugin.core.kv.Get
        description: Read the last status we recorded for this job so we only alert on change.
        key: "klaviyo_send_job_{{ fromJson(taskrun.value).id }}"
        errorOnMissing: false

      - id: route_status
        type: io.kestra.plugin.core.flow.If
        description: |
          Alert only when the job is in an alerting status AND that differs
          from the last status we saw, so a failed job pages once on transition
          rather than every poll.
        condition: "{{ (inputs.alerting_statuses contains fromJson(taskrun.value).attributes.status) and (fromJson(taskrun.value).attributes.status != (outputs.get_last_status.value ?? '')) }}"
        then:
          - id: alert_unhealthy_send
            type: io.kestra.plugin.slack.notifications.SlackIncomingWebhook
            description: Page the marketing ops channel about a send job that just entered a bad state.
            payload: |
              {
                "blocks": [
                  {
                    "type": "header",
                    "text": {
                      "type": "plain_text",
                      "text": "Klaviyo send job needs attention"
                    }
                  },
                  {
                    "type": "section",
                    "fields": [
                      {
                        "type": "mrkdwn",
                        "text": "*Send job status:*\n{{ fromJson(taskrun.value).attributes.status }}"
                      },
                      {
                        "type": "mrkdwn",
                        "text": "*Send job id:*\n{{ fromJson(taskrun.value).id }}"
                      },
                      {
                        "type": "mrkdwn",
                        "text": "*Previous status:*\n{{ outputs.get_last_status.value ?? 'none' }}"
                      },
                      {
                        "type": "mrkdwn",
                        "text": "*Execution:*\n{{ execution.id }}"
                      }
                    ]
                  },
                  {
                    "type": "context",
                    "elements": [
                      {
                        "type": "mrkdwn",
                        "text": "Open Klaviyo to inspect the send job and resend or reschedule as needed."
                      }
                    ]
                  }
                ]
              }
        else:
          - id: log_status
            type: io.kestra.plugin.core.log.Log
            description: Record the current status for the audit trail without paging.
            message: "Send job {{ fromJson(taskrun.value).id }} status is {{ fromJson(taskrun.value).attributes.status }} (previous {{ outputs.get_last_status.value ?? 'none' }}); no new alert."

      - id: record_status
        type: io.kestra.plugin.core.kv.Set
        description: |
          Persist the current status as the last-seen value so the next poll
          only alerts on a further transition. Written after the alert branch
          so a failed Slack post does not suppress a future page.
        key: "klaviyo_send_job_{{ fromJson(taskrun.value).id }}"
        value: "{{ fromJson(taskrun.value).attributes.status }}"
        kvType: STRING
        ttl: P30D

errors:
  - id: alert_on_failure
    type: io.kestra.plugin.slack.notifications.SlackIncomingWebhook
    description: Alert if the monitoring flow itself fails (for example a bad API key).
    messageText: ":rotating_light: {{ flow.namespace }}.{{ flow.id }} monitoring failed (execution {{ execution.id }})."

triggers:
  - id: business_hours
    type: io.kestra.plugin.core.trigger.Schedule
    description: Poll the send jobs every 30 minutes during business hours (08:00 to 18:00 UTC, Mon to Fri).
    cron: "*/30 8-18 * * 1-5"
    timezone: Etc/UTC
"""


@pytest.fixture
def klaviyo(flows: Flows) -> Iterator[KlaviyoDouble]:
    with KlaviyoDouble(key=KEY) as double:
        with flows.store.unit() as repos:
            repos.secrets.update_secret("company.marketing", "KLAVIYO_API_KEY", KEY)
        yield double


@pytest.fixture
def slack(flows: Flows) -> Iterator[SlackDouble]:
    with SlackDouble() as double:
        with flows.store.unit() as repos:
            repos.secrets.update_secret(
                "company.marketing", "SLACK_WEBHOOK_URL", double.webhook_url
            )
        yield double


def _at(flow: str, double: KlaviyoDouble) -> str:
    """The flow with one more plugin default: every Klaviyo task's ``baseUrl`` is the double."""
    source = yaml.safe_load(flow)
    default = {"type": "io.kestra.plugin.klaviyo", "values": {"baseUrl": double.url + "/api"}}
    source["pluginDefaults"].append(default)
    return yaml.safe_dump(source, sort_keys=False)


def _outputs(final: Any) -> dict[str, Any]:
    return {r.task_id: r.outputs for r in final.task_runs}


def test_an_estimate_in_range_passes_the_pre_send_check(
    flows: Flows, klaviyo: KlaviyoDouble, slack: SlackDouble
) -> None:
    klaviyo.add("campaign-recipient-estimations", "01HCAMPAIGN", estimated_recipient_count=1200)
    final = flows.run(_at(RECIPIENT_ESTIMATION_ALERT, klaviyo), {"campaign_id": "01HCAMPAIGN"})
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    row = _outputs(final)["estimate_recipients"]["row"]
    assert row["type"] == "campaign-recipient-estimation"
    assert row["attributes"] == {"estimated_recipient_count": 1200}
    assert any(
        "Estimated recipients 1200 are within the allowed range for campaign 01HCAMPAIGN" in line
        for line in flows.logs(final)
    )
    assert slack.messages == []
    (read,) = klaviyo.requests_to("GET", "/api/campaign-recipient-estimations/01HCAMPAIGN")
    assert read.headers["revision"] == "2025-10-15"
    assert read.headers["accept"] == "application/vnd.api+json"
    assert all(KEY not in line for line in flows.logs(final))


def test_an_estimate_out_of_range_alerts_and_fails_the_gate(
    flows: Flows, klaviyo: KlaviyoDouble, slack: SlackDouble
) -> None:
    klaviyo.add("campaign-recipient-estimations", "01HSMALL", estimated_recipient_count=42)
    final = flows.run(_at(RECIPIENT_ESTIMATION_ALERT, klaviyo), {"campaign_id": "01HSMALL"})
    assert final.state is State.FAILED
    alert, failure = slack.messages
    assert alert["blocks"][1]["fields"][1]["text"] == "*Estimated recipients:*\n42"
    assert "failed or gated for campaign 01HSMALL" in failure["text"]
    errors = flows.logs(final, "ERROR")
    assert any(
        "Estimated recipients 42 out of allowed range 500 to 250000" in line for line in errors
    )


def test_the_send_job_monitor_alerts_on_a_bad_status_and_keeps_each_status(
    flows: Flows, klaviyo: KlaviyoDouble, slack: SlackDouble
) -> None:
    klaviyo.add("campaign-send-jobs", "01HJOBA", status="cancelled")
    klaviyo.add("campaign-send-jobs", "01HJOBB", status="complete")
    first = flows.run(_at(SEND_JOB_MONITORING, klaviyo), {"job_ids": ["01HJOBA", "01HJOBB"]})
    assert first.state is State.SUCCESS, flows.logs(first, "ERROR")
    assert [r["id"] for r in _outputs(first)["get_send_jobs"]["rows"]] == ["01HJOBA", "01HJOBB"]
    (alert,) = slack.messages
    fields = [f["text"] for f in alert["blocks"][1]["fields"]]
    assert fields[:3] == [
        "*Send job status:*\ncancelled",
        "*Send job id:*\n01HJOBA",
        "*Previous status:*\nnone",
    ]
    assert any("Send job 01HJOBB status is complete" in line for line in flows.logs(first))
    # The statuses are kept in the KV store for the next poll to compare with.
    with flows.store.unit() as repos:
        kept = {
            k: repos.kv.read_kv("company.marketing", f"klaviyo_send_job_{k}")
            for k in ("01HJOBA", "01HJOBB")
        }
    assert {k: e.value if e else None for k, e in kept.items()} == {
        "01HJOBA": "cancelled",
        "01HJOBB": "complete",
    }


def test_campaigns_are_read_in_order_stored_and_retried_when_rate_limited(
    flows: Flows, klaviyo: KlaviyoDouble
) -> None:
    klaviyo.add("campaigns", "01HA", name="Spring sale", status="Sent")
    klaviyo.add("campaigns", "01HB", name="Summer teaser", status="Draft")
    klaviyo.trigger_faults = [Reply(429, {"errors": []}, {"Retry-After": "0"})]
    final = flows.run(
        f"""
id: klaviyo-campaigns
namespace: company.marketing
tasks:
  - id: stored
    type: io.kestra.plugin.klaviyo.campaign.Get
    campaignIds: ["01HB", "01HA"]
    fetchType: STORE
  - id: first
    type: io.kestra.plugin.klaviyo.campaign.Get
    campaignIds: "{{{{ ['01HA'] }}}}"
    fetchType: FETCH_ONE
  - id: missing
    type: io.kestra.plugin.klaviyo.campaign.Get
    campaignIds: [01HNOPE]
pluginDefaults:
  - type: io.kestra.plugin.klaviyo
    values:
      apiKey: "{{{{ secret('KLAVIYO_API_KEY') }}}}"
      baseUrl: {klaviyo.url}/api
"""
    )
    assert final.state is State.FAILED
    outputs = _outputs(final)
    assert outputs["stored"]["size"] == 2
    with flows.store.files.open(outputs["stored"]["uri"]) as stream:
        names = [row["attributes"]["name"] for row in read_values(stream.read().decode())]
    assert names == ["Summer teaser", "Spring sale"]
    assert outputs["first"]["row"]["attributes"]["status"] == "Sent"
    assert outputs["first"]["size"] == 1
    assert len(klaviyo.requests_to("GET", "/api/campaigns/01HB")) == 2  # a 429, then the answer
    errors = flows.logs(final, "ERROR")
    assert any(
        "Klaviyo API error 404 on GET /api/campaigns/01HNOPE: "
        "A campaign with id 01HNOPE does not exist." in line
        for line in errors
    ), errors
    assert all(KEY not in line for line in flows.logs(final))
