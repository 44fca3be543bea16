"""The data engineering course's Kestra flows (DataTalksClub's zoomcamp, module 2), read in place
from the corpus and run unchanged but for where they fetch from and which database they write
to: ``01_getting_started_data_pipeline`` (HTTP, Python, DuckDB) and ``02_postgres_taxi`` and its
scheduled twin with a backfill (wget | gunzip, PostgreSQL COPY and MERGE), on stand-in data in the
original files' shape served from 127.0.0.1 and a real PostgreSQL."""

from __future__ import annotations

import gzip
import json
import urllib.parse
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from controlplane.engine.cron import Cron
from controlplane.engine.model import Execution, State
from controlplane.engine.schedule_state import ScheduleState, new_backfill
from controlplane.engine.scheduler import TriggerScheduler
from tests.integration.compat.conftest import Flows
from tests.waiting import ended, wait_until

COURSE = (
    "DataTalksClub__data-engineering-zoomcamp__cohorts__2025__02-workflow-orchestration__flows__"
)
RELEASES = "/DataTalksClub/nyc-tlc-data/releases/download"
YELLOW_HEADER = (
    "VendorID,tpep_pickup_datetime,tpep_dropoff_datetime,passenger_count,trip_distance,"
    "RatecodeID,store_and_fwd_flag,PULocationID,DOLocationID,payment_type,fare_amount,extra,"
    "mta_tax,tip_amount,tolls_amount,improvement_surcharge,total_amount,congestion_surcharge"
)


def _course_flow(corpus: Path, name: str, replacements: dict[str, str]) -> str:
    source = (corpus / f"{COURSE}{name}.yaml").read_text(encoding="utf-8")
    for old, new in replacements.items():
        assert old in source, old
        source = source.replace(old, new)
    return source


def _yellow_month(month: str, rows: int) -> bytes:
    """A gzipped month of yellow trips with the columns and value shapes of the real files."""
    lines = [YELLOW_HEADER]
    for n in range(rows):
        pickup = f"2019-{month}-0{n + 1} 0{n}:1{n}:00"
        dropoff = f"2019-{month}-0{n + 1} 0{n}:4{n}:00"
        lines.append(
            f"1,{pickup},{dropoff},{n + 1},{1.5 + n},1,N,{151 + n},{239 - n},1,{7 + n},0.5,0.5,"
            f"1.65,0,0.3,{9.95 + n},"
        )
    return gzip.compress(("\n".join(lines) + "\n").encode())


def _postgres(postgres_url: str) -> dict[str, str]:
    """The course's pluginDefaults pointed at the test's database."""
    parts = urllib.parse.urlsplit(postgres_url)
    return {
        "jdbc:postgresql://host.docker.internal:5432/postgres-zoomcamp": (
            f"jdbc:postgresql://{parts.hostname}:{parts.port}{parts.path}"
        ),
        "username: kestra": f"username: {parts.username}",
    }


def _yellow_rows(postgres_url: str) -> list[tuple[str, int]]:
    database = postgres_url.split("?")[0]
    with psycopg.connect(database, autocommit=True) as db:
        found = db.execute(
            "SELECT filename, count(*) FROM public.yellow_tripdata GROUP BY filename ORDER BY 1"
        ).fetchall()
        return [(str(name), int(count)) for name, count in found]


def _drop_tables(postgres_url: str) -> None:
    with psycopg.connect(postgres_url.split("?")[0], autocommit=True) as db:
        db.execute("DROP TABLE IF EXISTS public.yellow_tripdata, public.yellow_tripdata_staging")


def test_getting_started_extracts_transforms_and_queries_with_duckdb(
    flows: Flows, corpus: Path, serve: Callable[[dict[str, bytes]], str]
) -> None:
    products = {"products": [
        {"id": 1, "brand": "Essence", "price": 9.99, "title": "Mascara"},
        {"id": 2, "brand": "Essence", "price": 5.01, "title": "Eyeliner"},
        {"id": 3, "brand": "Glamour", "price": 19.5, "title": "Powder"},
        {"id": 4, "title": "Apples", "price": 1.99},
    ]}  # fmt: skip
    base = serve({"/products": json.dumps(products).encode()})
    source = _course_flow(
        corpus, "01_getting_started_data_pipeline", {"https://dummyjson.com": base}
    )
    execution = flows.run(source)
    assert execution.state is State.SUCCESS, [
        (run.task_id, run.attempts[-1].error) for run in execution.task_runs if run.attempts
    ]
    query = next(run for run in execution.task_runs if run.task_id == "query")
    with flows.store.files.open(query.outputs["uri"]) as stored:
        text = stored.read().decode()
    assert query.outputs["size"] == 3
    assert text.splitlines() == [
        '{brand:"Glamour",avg_price:19.5e0}',
        '{brand:"Essence",avg_price:7.5e0}',
        '{brand:"N/A",avg_price:1.99e0}',
    ]


def test_postgres_taxi_loads_a_month_once_however_often_it_runs(
    flows: Flows, corpus: Path, serve: Callable[[dict[str, bytes]], str], postgres_url: str
) -> None:
    base = serve({f"{RELEASES}/yellow/yellow_tripdata_2019-01.csv.gz": _yellow_month("01", 3)})
    source = _course_flow(
        corpus, "02_postgres_taxi", {"https://github.com": base, **_postgres(postgres_url)}
    )
    try:
        for _ in range(2):  # MERGE on the row's hash: the second run adds nothing
            execution = flows.run(source, {"taxi": "yellow", "year": "2019", "month": "01"})
            assert execution.state is State.SUCCESS, [
                (run.task_id, run.attempts[-1].error) for run in execution.task_runs if run.attempts
            ]
            assert execution.labels["file"] == "yellow_tripdata_2019-01.csv"
        assert _yellow_rows(postgres_url) == [("yellow_tripdata_2019-01.csv", 3)]
    finally:
        _drop_tables(postgres_url)


def test_postgres_taxi_scheduled_backfills_each_month_of_a_range(
    flows: Flows, corpus: Path, serve: Callable[[dict[str, bytes]], str], postgres_url: str
) -> None:
    base = serve({
        f"{RELEASES}/yellow/yellow_tripdata_2019-01.csv.gz": _yellow_month("01", 3),
        f"{RELEASES}/yellow/yellow_tripdata_2019-02.csv.gz": _yellow_month("02", 2),
    })  # fmt: skip
    source = _course_flow(
        corpus,
        "02_postgres_taxi_scheduled",
        {"https://github.com": base, **_postgres(postgres_url)},
    )
    namespace, flow_id = flows.save(source)
    scheduler = TriggerScheduler(flows.store, flows.engine)
    scheduler.tick()  # the scheduler sees the triggers: from now on, their next slot
    start, end = datetime(2019, 1, 1, tzinfo=UTC), datetime(2019, 3, 1, tzinfo=UTC)
    with flows.store.unit() as repos:
        state = ScheduleState.from_doc(
            repos.triggers.read_trigger_state(namespace, flow_id, "yellow_schedule")
        )
        state.backfill = new_backfill(Cron.parse("0 10 1 * *"), start, end, datetime.now(UTC))
        repos.triggers.update_trigger_state(namespace, flow_id, "yellow_schedule", state.to_doc())
    try:
        fired: list[Execution] = []

        def fire() -> int:
            fired.extend(scheduler.tick())
            return len(fired)

        wait_until(fire, lambda count: count >= 2, "the backfill's two slots")
        done = [ended(flows.engine, execution.id) for execution in fired]
        states = sorted((execution.labels["file"], execution.state) for execution in done)
        assert states == [
            ("yellow_tripdata_2019-01.csv", State.SUCCESS),
            ("yellow_tripdata_2019-02.csv", State.SUCCESS),
        ]
        assert _yellow_rows(postgres_url) == [
            ("yellow_tripdata_2019-01.csv", 3),
            ("yellow_tripdata_2019-02.csv", 2),
        ]
    finally:
        _drop_tables(postgres_url)
