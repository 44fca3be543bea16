"""Apify's API v2 (``https://api.apify.com/v2``): Actor runs and dataset items.

``POST /acts/{actorId}/runs`` (the id or ``owner~name``) with the Actor's input as the JSON
body and ``timeout``, ``memory``, ``maxItems``, ``maxTotalChargeUsd``, ``build``,
``waitForFinish``, ``webhooks`` as query parameters starts a run and answers ``201`` with
``{"data": run}`` (``id``, ``actId``, ``status`` READY / RUNNING / SUCCEEDED ...,
``defaultDatasetId``, ``defaultKeyValueStoreId``, ``options``, ``stats``, ``usageTotalUsd``).
``GET /datasets/{id}/items`` answers the items as a JSON array (``fields`` keeps only those
keys, ``limit`` and ``offset`` page, ``desc=1`` reverses); a dataset reads empty for its first
``empty_reads`` reads, as while its run is still writing it. Errors are ``{"error": {"type",
"message"}}``: 401 ``token-not-valid``, 404 ``record-not-found``, 402 ``not-enough-usage-to-run-paid-actor``
when ``maxTotalChargeUsd`` is below the Actor's ``cost``.
"""

from __future__ import annotations

import itertools
from typing import Any

from tests.doubles import Received, Reply, ServiceDouble, utc_now


def _error(status: int, kind: str, message: str) -> Reply:
    return Reply(status, {"error": {"type": kind, "message": message}})


class ApifyDouble(ServiceDouble):
    def __init__(self, *, token: str = "apify_api_test") -> None:
        super().__init__()
        self.token = token
        self.actors: dict[str, dict[str, Any]] = {}
        self.datasets: dict[str, list[dict[str, Any]]] = {}
        self.empty_reads = 0
        self.runs: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        self._reads: dict[str, int] = {}

    def add_actor(self, name: str, items: list[dict[str, Any]], cost: float = 0.25) -> None:
        """An Actor (``owner~name``) whose runs write ``items`` and cost ``cost`` USD."""
        self.actors[name] = {"id": f"act{next(self._ids):06d}", "items": items, "cost": cost}

    def handle(self, request: Received) -> Reply:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return _error(401, "token-not-valid", "Authentication token is not valid.")
        parts = request.path.strip("/").split("/")
        route = (request.method, parts[1] if len(parts) == 4 else "", parts[-1])
        if parts[0] == "v2" and route == ("POST", "acts", "runs"):
            return self._start(parts[2], request)
        if parts[0] == "v2" and route == ("GET", "datasets", "items"):
            return self._items(parts[2], request.query)
        return _error(404, "page-not-found", f"We have bad news: there is no API endpoint at "
                                            f"{request.path}")  # fmt: skip

    def _start(self, actor_ref: str, request: Received) -> Reply:
        actor = self.actors.get(actor_ref) or next(
            (a for a in self.actors.values() if a["id"] == actor_ref), None
        )
        if actor is None:
            return _error(404, "record-not-found", "Actor was not found")
        query = {key: values[0] for key, values in request.query.items()}
        limit = query.get("maxTotalChargeUsd")
        if limit is not None and float(limit) < actor["cost"]:
            return _error(402, "not-enough-usage-to-run-paid-actor",
                          "The maximum total charge is below the cost of one run.")  # fmt: skip
        dataset = f"ds{next(self._ids):06d}"
        items = actor["items"][: int(query["maxItems"])] if "maxItems" in query else actor["items"]
        self.datasets[dataset] = list(items)
        self._reads[dataset] = 0
        run = {
            "id": f"run{next(self._ids):06d}",
            "actId": actor["id"],
            "userId": "user0001",
            "startedAt": utc_now(),
            "finishedAt": None,
            "status": "RUNNING",
            "meta": {"origin": "API"},
            "buildNumber": query.get("build", "0.0.42"),
            "defaultKeyValueStoreId": f"kv{next(self._ids):06d}",
            "defaultDatasetId": dataset,
            "options": {"build": query.get("build", "latest"),
                        "timeoutSecs": int(float(query.get("timeout", 3600))),
                        "memoryMbytes": int(query.get("memory", 4096))},
            "usageTotalUsd": actor["cost"],
        }  # fmt: skip
        self.runs.append({"run": run, "input": request.body, "query": query})
        return Reply(201, {"data": run})

    def _items(self, dataset: str, query: dict[str, list[str]]) -> Reply:
        if dataset not in self.datasets:
            return _error(404, "record-not-found", "Dataset was not found")
        self._reads[dataset] += 1
        if self._reads[dataset] <= self.empty_reads:
            return Reply(200, [])
        items = list(self.datasets[dataset])
        if (query.get("desc") or ["0"])[0] in ("1", "true"):
            items.reverse()
        offset = int((query.get("offset") or ["0"])[0])
        limit = int((query.get("limit") or [str(len(items))])[0])
        items = items[offset : offset + limit]
        fields = (query.get("fields") or [""])[0]
        if fields:
            keep = fields.split(",")
            items = [{k: v for k, v in item.items() if k in keep} for item in items]
        return Reply(200, items)
