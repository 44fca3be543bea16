"""``weir run`` waits for the final state Kestra's tests assert: a pause that ends by itself is
waited out, and a CREATE_NEW_EXECUTION retry is followed to the last execution of its chain
(Kestra's test flows ``pause-delay``, ``pause-timeout`` and ``retry-new-execution-*``)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.cli.test_run_cli import weir

CORPUS = Path(__file__).resolve().parents[3].parent / "shared" / "corpus" / "kestra-flows"
VALIDS = "kestra-io__kestra__core__src__test__resources__flows__valids__"


def test_a_pause_with_a_delay_is_waited_out(tmp_path: Path) -> None:
    run = weir(tmp_path, "run", str(CORPUS / f"{VALIDS}pause-delay.yaml"), "--json")
    assert run.returncode == 0, run.stdout + run.stderr
    execution = json.loads(run.stdout[run.stdout.index("{\n") :])
    assert (execution["state"], len(execution["taskRuns"])) == ("SUCCESS", 3)


def test_a_pause_with_a_timeout_ends_failed(tmp_path: Path) -> None:
    run = weir(tmp_path, "run", str(CORPUS / f"{VALIDS}pause-timeout.yaml"))
    assert run.returncode == 1
    assert "FAILED in" in run.stdout


def test_a_pause_without_delay_stops_the_run_paused(tmp_path: Path) -> None:
    run = weir(tmp_path, "run", str(CORPUS / f"{VALIDS}pause.yaml"))
    assert "PAUSED in" in run.stdout
    assert "resume it through the API" in run.stdout


def test_a_retry_as_a_new_execution_is_followed_to_the_end_of_its_chain(tmp_path: Path) -> None:
    flow = CORPUS / f"{VALIDS}retry-new-execution-flow-attempts.yaml"
    run = weir(tmp_path, "run", str(flow))
    assert run.returncode == 1
    assert run.stdout.count("retried as execution") == 2
    assert "FAILED in" in run.stdout
