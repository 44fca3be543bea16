"""DocumentDB's HTTP Data API with ``requests``: one POST per action, basic authentication,
answers read as the Data API writes them (``documents``, ``insertedId(s)``, ``matchedCount``...)."""

from __future__ import annotations

import json
from typing import Any

import requests

from controlplane.engine.runnable import RunContext, TaskFailed, runs
from controlplane.spec.plugins.documentdb import (
    DocumentDbDelete,
    DocumentDbInsert,
    DocumentDbRead,
    DocumentDbUpdate,
    _DocumentDb,
)
from controlplane.tasks import props
from controlplane.tasks.fetched import fetch_type, fetched

MAX_DOCUMENTS_PER_INSERT = 10


def _action(task: _DocumentDb, ctx: RunContext, action: str, body: dict[str, Any]) -> Any:
    url = f"{props.text(ctx, task.host).rstrip('/')}/data/v1/action/{action}"
    body = {
        "database": props.text(ctx, task.database),
        "collection": props.text(ctx, task.collection),
        **body,
    }
    auth = (props.text(ctx, task.username), props.text(ctx, task.password))
    try:
        response = requests.post(
            url, json=body, auth=auth, headers={"Accept": "application/json"}, timeout=(30, 300)
        )
    except requests.RequestException as exc:
        raise TaskFailed(f"DocumentDB could not be reached: {type(exc).__name__}") from None
    if response.status_code >= 400:
        raise TaskFailed(
            f"DocumentDB {action} failed: {response.status_code} - {response.text[:300]}"
        )
    try:
        return response.json()
    except ValueError:
        raise TaskFailed(f"DocumentDB {action} answered something that is not JSON") from None


def _list_of_maps(ctx: RunContext, value: Any, name: str) -> list[dict[str, Any]]:
    rendered = ctx.render_typed(value) if isinstance(value, str) else ctx.render(value)
    rendered = json.loads(rendered) if isinstance(rendered, str) else rendered
    if not isinstance(rendered, list) or not all(isinstance(v, dict) for v in rendered):
        raise TaskFailed(f"'{name}' must be a list of maps")
    return rendered


def _row(document: dict[str, Any]) -> dict[str, Any]:
    row = dict(document)
    oid = row.get("_id")
    if isinstance(oid, dict) and "$oid" in oid:
        row["_id"] = oid["$oid"]
    return row


@runs(DocumentDbRead)
def run_documentdb_read(task: DocumentDbRead, ctx: RunContext) -> dict[str, Any]:
    kind = fetch_type(ctx, task.fetchType)
    pipeline = (
        _list_of_maps(ctx, task.aggregationPipeline, "aggregationPipeline")
        if task.aggregationPipeline is not None
        else []
    )
    if pipeline:
        answer = _action(task, ctx, "aggregate", {"pipeline": pipeline})
    else:
        body: dict[str, Any] = {}
        found = props.mapping(ctx, task.filter, "filter")
        if found:
            body["filter"] = found
        for key, value in (("limit", task.limit), ("skip", task.skip)):
            if value is not None:
                body[key] = props.integer(ctx, value, key)
        answer = _action(task, ctx, "find", body)
    documents = [_row(d) for d in answer.get("documents") or [] if isinstance(d, dict)]
    return fetched(ctx, kind, documents, "documents.ion")


@runs(DocumentDbInsert)
def run_documentdb_insert(task: DocumentDbInsert, ctx: RunContext) -> dict[str, Any]:
    if task.documents is not None:
        documents = _list_of_maps(ctx, task.documents, "documents")
        if len(documents) > MAX_DOCUMENTS_PER_INSERT:
            raise TaskFailed(f"at most {MAX_DOCUMENTS_PER_INSERT} 'documents' are inserted at once")
        answer = _action(task, ctx, "insertMany", {"documents": documents})
        ids = [str(i) for i in answer.get("insertedIds") or []]
        return {"insertedIds": ids, "insertedCount": len(ids)}
    if task.document is None:
        raise TaskFailed("give 'document' or 'documents'")
    document = props.mapping(ctx, task.document, "document")
    answer = _action(task, ctx, "insertOne", {"document": document})
    inserted = answer.get("insertedId")
    return {"insertedId": str(inserted) if inserted is not None else None, "insertedCount": 1}


@runs(DocumentDbUpdate)
def run_documentdb_update(task: DocumentDbUpdate, ctx: RunContext) -> dict[str, Any]:
    action = "updateMany" if props.boolean(ctx, task.updateMany) else "updateOne"
    body: dict[str, Any] = {"update": props.mapping(ctx, task.update, "update")}
    found = props.mapping(ctx, task.filter, "filter")
    if found:
        body["filter"] = found
    answer = _action(task, ctx, action, body)
    upserted = answer.get("upsertedId")
    return {
        "matchedCount": int(answer.get("matchedCount") or 0),
        "modifiedCount": int(answer.get("modifiedCount") or 0),
        "upsertedId": str(upserted) if upserted is not None else None,
    }


@runs(DocumentDbDelete)
def run_documentdb_delete(task: DocumentDbDelete, ctx: RunContext) -> dict[str, Any]:
    action = "deleteMany" if props.boolean(ctx, task.deleteMany) else "deleteOne"
    found = props.mapping(ctx, task.filter, "filter")
    answer = _action(task, ctx, action, {"filter": found} if found else {})
    return {"deletedCount": int(answer.get("deletedCount") or 0)}
