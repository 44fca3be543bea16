"""The worked example repository applies cleanly, in both of its environments."""

from __future__ import annotations

from pathlib import Path

from controlplane.client import WeirClient
from controlplane.gitops.reconcile import reconcile
from tests.integration.api.conftest import LiveServer

EXAMPLE = Path(__file__).resolve().parents[3] / "gitops" / "example"


def test_the_example_applies_then_plans_nothing(live_server: LiveServer, weir: WeirClient) -> None:
    for environment, namespace in (
        (None, "company.analytics"),
        ("staging", "staging.company.analytics"),
    ):
        first = reconcile(str(EXAMPLE), server=live_server.url, environment=environment)
        assert first.ready, first.line()
        assert first.applied is not None and len(first.applied.created) == 7
        again = reconcile(
            str(EXAMPLE), server=live_server.url, environment=environment, dry_run=True
        )
        assert again.plan is not None and again.plan.exit_code == 0, again.line()
        caller = weir.flows.get(namespace, "daily-orders")
        assert caller.managed_by == "gitops:analytics"
        assert f"    namespace: {namespace}\n" in caller.source
        assert weir.kv.get(namespace, "thresholds").value == {"warn": 0.9, "fail": 0.5}
        assert weir.files.read(namespace, "scripts/clean.py").startswith(b'"""Keep the completed')
