"""Apache Airflow's stable REST API (``/api/v1``), its DAG runs.

``POST /api/v1/dags/{dag_id}/dagRuns`` takes a DAG run (``dag_run_id``, ``logical_date``,
``conf``, ``note``; any other field is refused with 400 "Unknown field.") and answers it with
``state`` ``queued``; ``GET /api/v1/dags/{dag_id}/dagRuns/{dag_run_id}`` reads it: ``running``
from the first read, then after ``polls`` reads the scripted outcome (``success`` or
``failed``) with ``start_date`` and ``end_date``. Calls need basic authentication with the
double's user. Errors are problem details ``{"detail", "status", "title", "type"}``: 401
Unauthorized, 404 "DAG not found", 409 "DAGRun already exists".
"""

from __future__ import annotations

import base64
import urllib.parse
from datetime import UTC, datetime
from typing import Any

from tests.doubles import Received, Reply, ServiceDouble, utc_now

_FIELDS = {"dag_run_id", "logical_date", "execution_date", "conf", "note",
           "data_interval_start", "data_interval_end"}  # fmt: skip
_ERRORS = (
    "https://airflow.apache.org/docs/apache-airflow/2.10.4/stable-rest-api-ref.html#section/Errors/"
)


def _problem(status: int, title: str, detail: Any, kind: str) -> Reply:
    body = {"detail": detail, "status": status, "title": title, "type": _ERRORS + kind}
    return Reply(status, body)


class AirflowDouble(ServiceDouble):
    def __init__(self, *, user: str = "admin", password: str = "admin", dags: tuple[str, ...] = ()):
        super().__init__()
        self.outcomes = ["success"]
        self.auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.dags = set(dags)
        self.runs: dict[tuple[str, str], dict[str, Any]] = {}
        self.bodies: list[dict[str, Any]] = []
        self._reads: dict[tuple[str, str], int] = {}
        self._outcome: dict[tuple[str, str], str] = {}

    def handle(self, request: Received) -> Reply:
        if request.headers.get("authorization") != self.auth:
            return _problem(401, "Unauthorized", None, "Unauthenticated")
        parts = [urllib.parse.unquote(p) for p in request.path.strip("/").split("/")]
        if parts[:3] != ["api", "v1", "dags"] or len(parts) not in (5, 6) or parts[4] != "dagRuns":
            return _problem(404, "Not Found", f"No route for {request.path}", "NotFound")
        dag = parts[3]
        if dag not in self.dags:
            return _problem(404, "DAG not found", f"DAG with dag_id: '{dag}' not found", "NotFound")
        if len(parts) == 5 and request.method == "POST":
            return self.take(self.trigger_faults) or self._trigger(dag, request.body or {})
        if len(parts) == 6 and request.method == "GET":
            return self.take(self.poll_faults) or self._read(dag, parts[5])
        return _problem(405, "Method Not Allowed", None, "MethodNotAllowed")

    def _trigger(self, dag: str, body: dict[str, Any]) -> Reply:
        unknown = sorted(set(body) - _FIELDS)
        if unknown:
            detail = str({name: ["Unknown field."] for name in unknown})
            return _problem(400, "Bad Request", detail, "BadRequest")
        now = datetime.now(UTC)
        run_id = body.get("dag_run_id") or f"manual__{now.isoformat()}"
        if (dag, run_id) in self.runs:
            detail = f"DAGRun with DAG ID: '{dag}' and DAGRun ID: '{run_id}' already exists"
            return _problem(409, "Conflict", detail, "AlreadyExists")
        self.bodies.append(body)
        run = {
            "dag_id": dag, "dag_run_id": run_id, "conf": body.get("conf") or {},
            "logical_date": now.isoformat(), "execution_date": now.isoformat(),
            "start_date": None, "end_date": None, "state": "queued", "run_type": "manual",
            "external_trigger": True, "note": body.get("note"),
        }  # fmt: skip
        self.runs[(dag, run_id)] = run
        self._reads[(dag, run_id)] = 0
        self._outcome[(dag, run_id)] = self.next_outcome()
        return Reply(200, run)

    def _read(self, dag: str, run_id: str) -> Reply:
        key = (dag, run_id)
        run = self.runs.get(key)
        if run is None:
            detail = f"DAGRun with DAG ID: '{dag}' and DagRun ID: '{run_id}' not found"
            return _problem(404, "DAGRun not found", detail, "NotFound")
        self._reads[key] += 1
        if run["state"] == "queued":
            run.update(state="running", start_date=utc_now())
        if not self.never_finish and self._reads[key] > self.polls and run["end_date"] is None:
            run.update(state=self._outcome[key], end_date=utc_now())
        return Reply(200, dict(run))
