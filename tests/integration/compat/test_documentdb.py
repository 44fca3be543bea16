"""DocumentDB tasks against a local double of the HTTP Data API (an in-memory collection with
MongoDB-style equality, ``$gte``/``$lt``/``$in`` filters, ``$set``/``$inc`` updates and a
``$match``/``$limit`` pipeline), on the shape of kestra-io/blueprints' ``documentdb-upsert-sync``
and ``documentdb-read-transform-report`` flows."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest

from controlplane.engine.model import State
from controlplane.tasks.ion_text import read_values
from tests.doubles import Received, Reply, ServiceDouble
from tests.integration.compat.conftest import Flows

AUTH = "Basic " + base64.b64encode(b"kestra:docdb-secret-7").decode()


def _matches(document: dict[str, Any], query: dict[str, Any]) -> bool:
    for field, condition in query.items():
        value = document.get(field)
        if isinstance(condition, dict):
            checks = {
                "$gte": lambda a, b: a is not None and a >= b,
                "$lt": lambda a, b: a is not None and a < b,
                "$in": lambda a, b: a in b,
            }
            if not all(checks[op](value, arg) for op, arg in condition.items()):
                return False
        elif value != condition:
            return False
    return True


class DataApi(ServiceDouble):
    def __init__(self) -> None:
        super().__init__()
        self.documents: list[dict[str, Any]] = []

    def handle(self, request: Received) -> Reply:
        if request.headers.get("authorization") != AUTH:
            return Reply(401, {"error": "unauthorized"})
        action = request.path.rsplit("/", 1)[-1]
        body = request.body
        if (body["database"], body["collection"]) != ("shop", "users"):
            return Reply(404, {"error": "no such collection"})
        found = [d for d in self.documents if _matches(d, body.get("filter") or {})]
        if action == "find":
            found = found[body.get("skip", 0) :][: body.get("limit") or None]
            return Reply(200, {"documents": [self._shown(d) for d in found]})
        if action == "aggregate":
            rows = list(self.documents)
            for stage in body["pipeline"]:
                if "$match" in stage:
                    rows = [d for d in rows if _matches(d, stage["$match"])]
                if "$limit" in stage:
                    rows = rows[: stage["$limit"]]
            return Reply(200, {"documents": [self._shown(d) for d in rows]})
        if action in ("insertOne", "insertMany"):
            new = [body["document"]] if action == "insertOne" else body["documents"]
            ids = []
            for document in new:
                ids.append(f"6570{len(self.documents):020d}")
                self.documents.append({"_id": ids[-1], **document})
            key = {"insertedId": ids[0]} if action == "insertOne" else {"insertedIds": ids}
            return Reply(201, key)
        if action in ("updateOne", "updateMany"):
            targets = found[:1] if action == "updateOne" else found
            for document in targets:
                document.update(body["update"].get("$set", {}))
                for key, step in body["update"].get("$inc", {}).items():
                    document[key] = document.get(key, 0) + step
            return Reply(200, {"matchedCount": len(found), "modifiedCount": len(targets)})
        if action in ("deleteOne", "deleteMany"):
            targets = found[:1] if action == "deleteOne" else found
            self.documents = [d for d in self.documents if d not in targets]
            return Reply(200, {"deletedCount": len(targets)})
        return Reply(404, {"error": "unknown action"})

    @staticmethod
    def _shown(document: dict[str, Any]) -> dict[str, Any]:
        return {**document, "_id": {"$oid": document["_id"]}}


@pytest.fixture
def data_api(flows: Flows) -> Iterator[DataApi]:
    with DataApi() as double:
        with flows.store.unit() as repos:
            repos.secrets.update_secret("company.team", "DOCDB_PASSWORD", "docdb-secret-7")
        yield double


def test_documents_are_inserted_read_updated_and_deleted(flows: Flows, data_api: DataApi) -> None:
    final = flows.run(
        f"""
id: documentdb-upsert-sync
namespace: company.team
tasks:
  - id: insert_one
    type: io.kestra.plugin.documentdb.Insert
    document: {{name: Ada, age: 36, status: active}}
  - id: insert_many
    type: io.kestra.plugin.documentdb.Insert
    documents:
      - {{name: Grace, age: 45, status: active}}
      - {{name: Linus, age: 17, status: inactive}}
  - id: adults
    type: io.kestra.plugin.documentdb.Read
    filter:
      age: {{"$gte": 18}}
  - id: first_active
    type: io.kestra.plugin.documentdb.Read
    aggregationPipeline:
      - $match: {{status: active}}
      - $limit: 1
    fetchType: FETCH_ONE
  - id: birthday
    type: io.kestra.plugin.documentdb.Update
    filter: {{name: "{{{{ outputs.first_active.row.name }}}}"}}
    update:
      $inc: {{age: 1}}
  - id: deactivate
    type: io.kestra.plugin.documentdb.Update
    filter: {{status: active}}
    update:
      $set: {{status: archived}}
    updateMany: true
  - id: purge
    type: io.kestra.plugin.documentdb.Delete
    filter: {{status: inactive}}
    deleteMany: true
  - id: report
    type: io.kestra.plugin.documentdb.Read
    fetchType: STORE
pluginDefaults:
  - type: io.kestra.plugin.documentdb
    values:
      host: {data_api.url}
      database: shop
      collection: users
      username: kestra
      password: "{{{{ secret('DOCDB_PASSWORD') }}}}"
"""
    )
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    outputs = {r.task_id: r.outputs for r in final.task_runs}
    assert outputs["insert_one"]["insertedCount"] == 1
    assert outputs["insert_many"]["insertedCount"] == 2
    assert [r["name"] for r in outputs["adults"]["rows"]] == ["Ada", "Grace"]
    assert outputs["adults"]["rows"][0]["_id"] == outputs["insert_one"]["insertedId"]
    assert outputs["first_active"]["row"]["name"] == "Ada"
    assert outputs["birthday"] == {"matchedCount": 1, "modifiedCount": 1, "upsertedId": None}
    assert outputs["deactivate"]["modifiedCount"] == 2
    assert outputs["purge"] == {"deletedCount": 1}
    assert outputs["report"]["size"] == 2
    with flows.store.files.open(outputs["report"]["uri"]) as stream:
        rows = list(read_values(stream.read().decode()))
    assert [(r["name"], r["age"], r["status"]) for r in rows] == [
        ("Ada", 37, "archived"),
        ("Grace", 45, "archived"),
    ]
