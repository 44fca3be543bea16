"""The pipelines of ``flows/pipelines`` run as written: the PostgreSQL load of trips against the
PostgreSQL server the tests start, with the month's CSV served on 127.0.0.1."""

from __future__ import annotations

import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg
import pytest

from controlplane.engine.model import State
from controlplane.spec.validate import validate_file
from tests.conftest import Running
from tests.waiting import ended

ROOT = Path(__file__).resolve().parents[3]
TRIPS_FLOW = ROOT / "flows" / "pipelines" / "trips_to_postgres.yaml"
HEADER = "vendor_id,pickup_at,dropoff_at,passengers,distance_km,fare\n"
MONTHS = {
    # The second row is the first one again, as a re-sent file would have it.
    "2026-01": [
        "1,2026-01-03 08:00:00,2026-01-03 08:20:00,1,4.2,12.50",
        "1,2026-01-03 08:00:00,2026-01-03 08:20:00,1,4.2,12.50",
        "2,2026-01-09 17:45:00,2026-01-09 18:10:00,3,9.9,27.00",
        "2,2026-01-21 23:05:00,2026-01-21 23:15:00,,1.1,6.00",
    ],
    "2026-02": [
        "1,2026-02-14 19:00:00,2026-02-14 19:30:00,2,7.5,21.75",
    ],
}


class _Files(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        name = urllib.parse.urlsplit(self.path).path.rsplit("/", 1)[-1]
        month = name.removeprefix("trips_").removesuffix(".csv")
        if month not in MONTHS:
            self.send_error(404)
            return
        body = (HEADER + "\n".join(MONTHS[month]) + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/csv")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def files_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Files)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/trips/trips_{{month}}.csv"
    server.shutdown()
    server.server_close()


def _jdbc(url: str) -> tuple[str, str, str]:
    """The JDBC URL, user and schema of a libpq URL with a search_path option."""
    parts = urllib.parse.urlsplit(url)
    schema = urllib.parse.parse_qs(parts.query)["options"][0].removeprefix("-csearch_path=")
    jdbc = f"jdbc:postgresql://{parts.hostname}:{parts.port}{parts.path}?currentSchema={schema}"
    return jdbc, parts.username or "", schema


def test_trips_load_is_idempotent_and_backfills_month_by_month(
    running_engine: Running, postgres_url: str, files_url: str
) -> None:
    store, running = running_engine
    assert validate_file(TRIPS_FLOW).ok
    jdbc, user, schema = _jdbc(postgres_url)
    with store.unit() as repos:
        repos.flows.create_flow_revision(
            "company.warehouse", "trips_to_postgres", TRIPS_FLOW.read_text(), None
        )
        repos.secrets.update_secret("company.warehouse", "WAREHOUSE_JDBC_URL", jdbc)
        repos.secrets.update_secret("company.warehouse", "WAREHOUSE_USER", user)
        repos.secrets.update_secret("company.warehouse", "WAREHOUSE_PASSWORD", "not-checked")

    def load(month: str) -> int:
        execution = running.create_execution(
            "company.warehouse", "trips_to_postgres", {"source_url": files_url, "month": month}
        )
        final = ended(running, execution.id)
        with store.unit() as repos:
            errors = [
                e.message for _, e in repos.logs.list_logs(execution.id) if e.level == "ERROR"
            ]
        assert final.state is State.SUCCESS, errors
        assert final.labels["month"] == month
        return int((final.outputs or {})["rows"])

    assert load("2026-01") == 3  # four lines, one of them twice
    assert load("2026-01") == 3  # loading the month again adds nothing
    assert load("2026-02") == 1
    with psycopg.connect(postgres_url) as connection:
        rows = connection.execute(
            f"SELECT month, count(*), sum(fare) FROM {schema}.trips GROUP BY month ORDER BY month"
        ).fetchall()
    assert [(month, count, str(total)) for month, count, total in rows] == [
        ("2026-01", 3, "45.50"),
        ("2026-02", 1, "21.75"),
    ]
