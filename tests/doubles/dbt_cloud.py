"""dbt Cloud's Administrative API v2 (``https://cloud.getdbt.com/api/v2``).

``POST /accounts/{account}/jobs/{job}/run/`` with ``{"cause", "git_branch", "steps_override",
...}`` starts a run; ``GET /accounts/{account}/runs/{run}/?include_related=[...]`` reads it. A
run's ``status`` is 1 Queued, 2 Starting, 3 Running, then 10 Success, 20 Error or 30 Cancelled,
with ``status_humanized``, ``is_complete``, ``is_success``, ``is_error``, ``status_message``,
``duration_humanized`` and, when ``run_steps`` is included, its steps with their growing ``logs``
text. ``GET /accounts/{account}/runs/{run}/artifacts/{path}`` serves a file the run produced.
Every answer is ``{"status": {code, is_success, user_message, developer_message}, "data"}``.
Auth: ``Authorization: Bearer <token>`` (or ``Token <token>``).
"""

from __future__ import annotations

import json
from typing import Any

from tests.doubles import Received, Reply, ServiceDouble, utc_now

_STATES = {
    1: "Queued",
    2: "Starting",
    3: "Running",
    10: "Success",
    20: "Error",
    30: "Cancelled",
}
CLONE_LOG = "Cloning into '/tmp/jobs/repo'...\nChecked out at abc123.\n"
BUILD_LOG = (
    "12:00:01  Running with dbt=1.8.0\n"
    "12:00:02  Found 2 models, 1 test\n"
    "12:00:03  1 of 2 OK created sql table model analytics.orders\n"
    "12:00:04  2 of 2 OK created sql view model analytics.customers\n"
    "12:00:05  Done. PASS=3 WARN=0 ERROR=0 SKIP=0 TOTAL=3"
)
RUN_RESULTS = {
    "metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v6.json"},
    "results": [
        {
            "unique_id": "model.jaffle_shop.orders",
            "status": "success",
            "execution_time": 1.25,
            "message": "SELECT 99",
            "failures": None,
            "adapter_response": {"rows_affected": 99},
            "timing": [],
            "thread_id": "Thread-1",
        },
        {
            "unique_id": "test.jaffle_shop.not_null_orders_id",
            "status": "pass",
            "execution_time": 0.5,
            "message": None,
            "failures": 0,
            "adapter_response": {},
            "timing": [],
            "thread_id": "Thread-2",
        },
    ],
    "elapsed_time": 3.1,
    "args": {"which": "build"},
}
MANIFEST = {"metadata": {"project_name": "jaffle_shop"}, "nodes": {}, "sources": {}}


def _envelope(code: int, data: Any, message: str = "Success!") -> Reply:
    status = {
        "code": code,
        "is_success": code < 400,
        "user_message": message,
        "developer_message": "",
    }
    return Reply(code, {"status": status, "data": data})


class DbtCloudDouble(ServiceDouble):
    def __init__(
        self, *, token: str = "dbtc-token", account: int = 1, jobs: tuple[int, ...] = (396284,)
    ) -> None:
        super().__init__()
        self.outcomes = ["Success"]
        self.token, self.account, self.jobs = token, account, set(jobs)
        self.missing_artifacts: set[str] = set()
        self.error_message = "Database Error in model orders: relation does not exist"
        self.runs: dict[int, dict[str, Any]] = {}

    def handle(self, request: Received) -> Reply:
        header = request.headers.get("authorization", "")
        if header not in (f"Bearer {self.token}", f"Token {self.token}"):
            return _envelope(401, None, "Invalid token.")
        parts = request.path.strip("/").split("/")
        if parts[:3] != ["api", "v2", "accounts"] or len(parts) < 6:
            return _envelope(404, None, "The requested resource was not found.")
        if parts[3] != str(self.account):
            return _envelope(403, None, "You do not have permission to access this account.")
        kind, ident, rest = parts[4], parts[5], parts[6:]
        if kind == "jobs" and rest == ["run"] and request.method == "POST":
            if not ident.isdigit() or int(ident) not in self.jobs:
                return _envelope(404, None, "The requested resource was not found.")
            return self.take(self.trigger_faults) or self._trigger(int(ident), request.body or {})
        run = self.runs.get(int(ident)) if kind == "runs" and ident.isdigit() else None
        if run is None:
            return _envelope(404, None, "The requested resource was not found.")
        if rest == [] and request.method == "GET":
            return self.take(self.poll_faults) or self._read(run, request.query)
        if rest[:1] == ["artifacts"] and request.method == "GET":
            return self._artifact(run, "/".join(rest[1:]))
        return _envelope(404, None, "The requested resource was not found.")

    def _trigger(self, job: int, body: dict[str, Any]) -> Reply:
        if not body.get("cause"):
            return _envelope(400, None, "cause is required")
        run_id = 70000 + len(self.runs)
        self.runs[run_id] = {
            "id": run_id,
            "job_definition_id": job,
            "trigger_body": body,
            "outcome": self.next_outcome(),
            "reads": 0,
            "created_at": utc_now(),
        }
        return _envelope(200, self._run(run_id, 1, ""))

    def _read(self, run: dict[str, Any], query: dict[str, list[str]]) -> Reply:
        run["reads"] += 1
        reads = run["reads"]
        running = self.never_finish or reads <= self.polls
        status = 3 if running else {"Success": 10, "Error": 20, "Cancelled": 30}[run["outcome"]]
        shown = len(BUILD_LOG) * reads // (self.polls + 1) if running else len(BUILD_LOG)
        data = self._run(run["id"], status, BUILD_LOG[:shown])
        if "run_steps" not in (query.get("include_related") or [""])[0]:
            data.pop("run_steps")
        return _envelope(200, data)

    def _run(self, run_id: int, status: int, build_log: str) -> dict[str, Any]:
        run = self.runs[run_id]
        ended = status in (10, 20, 30)
        return {
            "id": run_id,
            "account_id": self.account,
            "job_definition_id": run["job_definition_id"],
            "status": status,
            "status_humanized": _STATES[status],
            "status_message": self.error_message if status == 20 else None,
            "is_complete": ended,
            "is_success": status == 10,
            "is_error": status == 20,
            "is_cancelled": status == 30,
            "in_progress": not ended,
            "duration_humanized": "2 minutes, 3 seconds" if ended else "10 seconds",
            "created_at": run["created_at"],
            "finished_at": utc_now() if ended else None,
            "run_steps": [
                {
                    "id": run_id * 10 + 1,
                    "index": 1,
                    "name": "Clone git repository",
                    "logs": CLONE_LOG,
                },
                {
                    "id": run_id * 10 + 2,
                    "index": 2,
                    "name": "Invoke dbt with `dbt build`",
                    "logs": build_log,
                },
            ],
        }

    def _artifact(self, run: dict[str, Any], path: str) -> Reply:
        files = {"run_results.json": RUN_RESULTS, "manifest.json": MANIFEST}
        if path not in files or path in self.missing_artifacts or run["outcome"] != "Success":
            return _envelope(404, None, f"No artifact {path} for run {run['id']}")
        return Reply(200, json.dumps(files[path]).encode())
