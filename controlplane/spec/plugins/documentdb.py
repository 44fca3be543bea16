"""DocumentDB over its HTTP Data API (``io.kestra.plugin.documentdb.*``): ``POST
{host}/data/v1/action/{find,aggregate,insertOne,insertMany,updateOne,updateMany,deleteOne,
deleteMany}`` with basic authentication; filters and updates are MongoDB-style."""

from __future__ import annotations

from typing import Any

from controlplane.spec.fields import DynBool, DynInt, DynMap, Text
from controlplane.spec.plugins.jdbc import FetchType
from controlplane.spec.registry import task
from controlplane.spec.tasks import TaskSpec


class _DocumentDb(TaskSpec):
    host: Text
    database: Text
    collection: Text
    username: Text
    password: Text


@task("io.kestra.plugin.documentdb.Read")
class DocumentDbRead(_DocumentDb):
    """Documents matching ``filter`` (``limit``, ``skip``), or the result of
    ``aggregationPipeline``, as ``fetchType`` says (FETCH by default)."""

    filter: DynMap | None = None
    aggregationPipeline: list[dict[str, Any]] | Text | None = None
    limit: DynInt | None = None
    skip: DynInt | None = None
    fetchType: FetchType = "FETCH"


@task("io.kestra.plugin.documentdb.Insert")
class DocumentDbInsert(_DocumentDb):
    """Insert ``document``, or ``documents`` (at most 10). Outputs ``insertedId``,
    ``insertedIds`` and ``insertedCount``."""

    document: DynMap | None = None
    documents: list[dict[str, Any]] | Text | None = None


@task("io.kestra.plugin.documentdb.Update")
class DocumentDbUpdate(_DocumentDb):
    """Apply ``update`` (operators such as ``$set``) to the first document ``filter`` matches,
    or to all with ``updateMany``. Outputs ``matchedCount``, ``modifiedCount``, ``upsertedId``."""

    filter: DynMap | None = None
    update: DynMap
    updateMany: DynBool = False


@task("io.kestra.plugin.documentdb.Delete")
class DocumentDbDelete(_DocumentDb):
    """Delete the first document ``filter`` matches, or all with ``deleteMany``. Output
    ``deletedCount``."""

    filter: DynMap | None = None
    deleteMany: DynBool = False
