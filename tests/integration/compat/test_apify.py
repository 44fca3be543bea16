"""Apify Actor runs and dataset reads against a local double of Apify's API v2, with
kestra-io/blueprints' ``apify-cost-quality-guardrail`` flow run as written (its secret in the
store, ``APIFY_BASE_URL`` pointing at the double)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from controlplane.engine.model import State
from tests.doubles.apify import ApifyDouble
from tests.integration.compat.conftest import Flows

TOKEN = "apify_api_Q2w9E1r8T7y6"

# kestra-io/blueprints flows/apify-cost-quality-guardrail.yaml without its documentation.
COST_QUALITY_GUARDRAIL = """
id: apify-cost-quality-guardrail
namespace: company.team

inputs:
  - id: actor_id
    type: STRING
    displayName: Apify actor ID
    description: Actor ID or owner~actor name to run under guardrails.
    defaults: apify/website-content-crawler
  - id: start_url
    type: STRING
    displayName: URL to scrape
    defaults: https://news.ycombinator.com
  - id: min_items
    type: INT
    displayName: Minimum healthy item count
    description: If the actor returns fewer items than this, the scrape is treated as degraded.
    defaults: 10

tasks:
  - id: run_actor
    type: io.kestra.plugin.apify.actor.Run
    actorId: "{{ inputs.actor_id }}"
    apiToken: "{{ secret('APIFY_API_TOKEN') }}"
    maxItems: 1000
    maxTotalChargeUsd: 10
    memory: MB_1024
    requestTimeout: 600
    input:
      startUrls:
        - url: "{{ inputs.start_url }}"
      maxCrawlPages: 100

  - id: get_dataset
    type: io.kestra.plugin.apify.dataset.Get
    apiToken: "{{ secret('APIFY_API_TOKEN') }}"
    datasetId: "{{ outputs.run_actor.defaultDatasetId }}"

  - id: quality_gate
    type: io.kestra.plugin.core.flow.If
    condition: "{{ (outputs.get_dataset.dataset | length) >= inputs.min_items }}"
    then:
      - id: promote
        type: io.kestra.plugin.core.storage.Write
        content: "{{ outputs.get_dataset.dataset | json }}"
        extension: .json
      - id: log_healthy
        type: io.kestra.plugin.core.log.Log
        message: "Scrape healthy: {{ outputs.get_dataset.dataset | length }} items at cost ${{ outputs.run_actor.usageTotalUsd }}. Dataset promoted for downstream processing."
    else:
      - id: alert_degraded
        type: io.kestra.plugin.pagerduty.PagerDutyAlert
        url: https://events.pagerduty.com/v2/enqueue
        payload: |
          {
            "routing_key": "{{ secret('PAGERDUTY_ROUTING_KEY') }}",
            "event_action": "trigger",
            "payload": {
              "summary": "Apify scrape degraded: actor {{ inputs.actor_id }} returned {{ outputs.get_dataset.dataset | length }} items, below the {{ inputs.min_items }} threshold. The target site DOM may have changed or the actor was blocked.",
              "source": "kestra-apify-guardrail",
              "severity": "warning"
            }
          }

triggers:
  - id: every_six_hours
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 */6 * * *"
"""

PAGES = [{"url": f"https://news.example.com/item?id={n}", "text": f"Story {n}"} for n in range(12)]


@pytest.fixture
def apify(flows: Flows, monkeypatch: pytest.MonkeyPatch) -> Iterator[ApifyDouble]:
    with ApifyDouble(token=TOKEN) as double:
        monkeypatch.setenv("APIFY_BASE_URL", double.url + "/v2")
        double.add_actor("apify~website-content-crawler", PAGES)
        with flows.store.unit() as repos:
            repos.secrets.update_secret("company.team", "APIFY_API_TOKEN", TOKEN)
        yield double


def test_the_guardrail_blueprint_runs_the_actor_and_promotes_a_healthy_dataset(
    flows: Flows, apify: ApifyDouble
) -> None:
    final = flows.run(COST_QUALITY_GUARDRAIL, {"start_url": "https://news.example.com"})
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    (started,) = apify.runs
    assert started["input"] == {
        "startUrls": [{"url": "https://news.example.com"}],
        "maxCrawlPages": 100,
    }
    assert started["query"] == {
        "maxItems": "1000",
        "maxTotalChargeUsd": "10",
        "memory": "1024",
        "timeout": "600",
    }
    outputs = {r.task_id: r.outputs for r in final.task_runs}
    run = outputs["run_actor"]
    assert run["status"] == "RUNNING"
    assert run["defaultDatasetId"] == started["run"]["defaultDatasetId"]
    assert outputs["get_dataset"]["dataset"] == PAGES
    assert "promote" in outputs
    assert any(
        "Scrape healthy: 12 items at cost $0.25. Dataset promoted" in line
        for line in flows.logs(final)
    )
    assert all(TOKEN not in line for line in flows.logs(final))


def test_a_dataset_still_being_written_is_read_again_with_its_parameters(
    flows: Flows, apify: ApifyDouble
) -> None:
    apify.empty_reads = 1
    final = flows.run(
        """
id: apify-dataset
namespace: company.team
tasks:
  - id: run_actor
    type: io.kestra.plugin.apify.actor.Run
    apiToken: "{{ secret('APIFY_API_TOKEN') }}"
    actorId: apify/website-content-crawler
    maxItems: "{{ 3 }}"
    waitForFinish: 0
  - id: get_dataset
    type: io.kestra.plugin.apify.dataset.Get
    apiToken: "{{ secret('APIFY_API_TOKEN') }}"
    datasetId: "{{ outputs.run_actor.defaultDatasetId }}"
    fields: [url]
    sort: DESC
    limit: 2
"""
    )
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    assert apify.runs[0]["input"] == {}
    assert apify.runs[0]["query"] == {"maxItems": "3", "waitForFinish": "0"}
    (get,) = [r for r in final.task_runs if r.task_id == "get_dataset"]
    assert get.outputs["dataset"] == [{"url": PAGES[2]["url"]}, {"url": PAGES[1]["url"]}]
    reads = [r for r in apify.received if r.path.endswith("/items")]
    assert len(reads) == 2
    assert reads[-1].query["clean"] == ["1"] and reads[-1].query["desc"] == ["1"]


def test_apify_refusals_name_the_error(flows: Flows, apify: ApifyDouble) -> None:
    final = flows.run(
        """
id: apify-errors
namespace: company.team
tasks:
  - id: too_cheap
    type: io.kestra.plugin.apify.actor.Run
    allowFailure: true
    apiToken: "{{ secret('APIFY_API_TOKEN') }}"
    actorId: apify/website-content-crawler
    maxTotalChargeUsd: 0.1
  - id: unknown_actor
    type: io.kestra.plugin.apify.actor.Run
    apiToken: "{{ secret('APIFY_API_TOKEN') }}"
    actorId: someone/nothing
    memory: MB_512
"""
    )
    assert final.state is State.FAILED
    errors = flows.logs(final, "ERROR")
    assert any(
        "Apify API error 402 on POST /v2/acts/apify~website-content-crawler/runs: The maximum "
        "total charge is below the cost of one run. (not-enough-usage-to-run-paid-actor)" in line
        for line in errors
    ), errors
    assert any(
        "404" in line and "Actor was not found (record-not-found)" in line for line in errors
    )
    assert apify.runs == []
