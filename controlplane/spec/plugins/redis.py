"""Redis (``io.kestra.plugin.redis.{string,list}.*``): strings and lists of a Redis server at
``url`` (``redis://[user:password@]host:port/db``, ``rediss://`` for TLS)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from controlplane.spec.fields import DynBool, DynDuration, DynInt, DynStrList, Spec, Text
from controlplane.spec.registry import task
from controlplane.spec.tasks import TaskSpec

SerdeType = Literal["STRING", "JSON"]


class _Redis(TaskSpec):
    url: Text


class SetOptions(Spec):
    expirationDuration: DynDuration | None = None
    expirationDate: datetime | Text | None = None
    mustNotExist: DynBool = False
    mustExist: DynBool = False
    keepTtl: DynBool = False


@task("io.kestra.plugin.redis.string.Set", "io.kestra.plugin.redis.Set")
class RedisSet(_Redis):
    """``SET key value`` (a JSON text of ``value`` with ``serdeType: JSON``), with the expiry and
    condition ``options``; ``get: true`` outputs the ``oldValue``."""

    key: Text
    value: Any
    options: SetOptions = Field(default_factory=SetOptions)
    get: DynBool = False
    serdeType: SerdeType = "STRING"


@task("io.kestra.plugin.redis.string.Get", "io.kestra.plugin.redis.Get")
class RedisGet(_Redis):
    """``GET key``: outputs ``data`` (parsed as JSON with ``serdeType: JSON``) and ``key``."""

    key: Text
    serdeType: SerdeType = "STRING"
    failedOnMissing: DynBool = False


@task("io.kestra.plugin.redis.string.Delete", "io.kestra.plugin.redis.Delete")
class RedisDelete(_Redis):
    """``DEL keys...``: output ``count``."""

    keys: DynStrList
    failedOnMissing: DynBool = False


@task("io.kestra.plugin.redis.list.ListPush", "io.kestra.plugin.redis.ListPush")
class RedisListPush(_Redis):
    """``LPUSH`` every value of ``from`` (a list, or the URI of an Ion file); output ``count``."""

    key: Text
    from_: list[Any] | Text = Field(alias="from")
    serdeType: SerdeType = "STRING"


@task("io.kestra.plugin.redis.list.ListPop", "io.kestra.plugin.redis.ListPop")
class RedisListPop(_Redis):
    """``LPOP key count`` until the list is empty, ``maxRecords`` are popped or ``maxDuration``
    has passed; the values go to an Ion file (``uri``) and ``count`` says how many."""

    key: Text
    serdeType: SerdeType = "STRING"
    maxRecords: DynInt | None = None
    maxDuration: DynDuration | None = None
    count: DynInt = 100
