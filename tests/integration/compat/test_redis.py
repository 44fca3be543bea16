"""Redis strings and lists against fakeredis' TCP server on 127.0.0.1 (the Redis protocol), on
the shape of kestra-io/blueprints' ``redis-set-get-json``, ``llm-response-cache`` and
``redis-list-push-pop`` flows."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import redis
from fakeredis import TcpFakeServer

from controlplane.engine.model import State
from controlplane.tasks.ion_text import read_values
from tests.integration.compat.conftest import Flows


@pytest.fixture
def redis_url() -> Iterator[str]:
    server = TcpFakeServer(("127.0.0.1", 0), server_type="redis")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"redis://127.0.0.1:{server.server_address[1]}/0"
    server.shutdown()
    server.server_close()


def test_strings_and_lists(flows: Flows, redis_url: str) -> None:
    final = flows.run(
        f"""
id: redis-set-get-json
namespace: company.team
inputs:
  - id: value
    type: JSON
    defaults: '{{"name": "John Doe", "age": 30}}'
tasks:
  - id: set
    type: io.kestra.plugin.redis.string.Set
    serdeType: JSON
    key: user
    value: "{{{{ inputs.value }}}}"
  - id: get
    type: io.kestra.plugin.redis.string.Get
    serdeType: JSON
    key: user
  - id: overwrite
    type: io.kestra.plugin.redis.string.Set
    key: cache
    value: first answer
    options:
      expirationDuration: PT1H
  - id: swap
    type: io.kestra.plugin.redis.string.Set
    key: cache
    value: second answer
    get: true
    options:
      mustExist: true
      keepTtl: true
  - id: missing
    type: io.kestra.plugin.redis.string.Get
    key: nowhere
  - id: push
    type: io.kestra.plugin.redis.list.ListPush
    key: products
    from: ["apple", "pear", "plum"]
  - id: pop
    type: io.kestra.plugin.redis.list.ListPop
    key: products
    count: 2
  - id: delete
    type: io.kestra.plugin.redis.string.Delete
    keys: [user, nowhere]
  - id: age
    type: io.kestra.plugin.core.log.Log
    message: "age {{{{ outputs.get.data.age }}}}"
pluginDefaults:
  - type: io.kestra.plugin.redis
    values:
      url: {redis_url}
"""
    )
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    outputs = {r.task_id: r.outputs for r in final.task_runs}
    assert outputs["get"] == {"data": {"name": "John Doe", "age": 30}, "key": "user"}
    assert outputs["swap"] == {"oldValue": "first answer"}
    assert outputs["missing"] == {"data": None, "key": "nowhere"}
    assert outputs["push"] == {"count": 3}
    assert outputs["pop"]["count"] == 3
    with flows.store.files.open(outputs["pop"]["uri"]) as stream:
        assert list(read_values(stream.read().decode())) == ["plum", "pear", "apple"]
    assert outputs["delete"] == {"count": 1}
    assert "age 30" in flows.logs(final)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    assert client.get("cache") == "second answer"
    assert 0 < client.pttl("cache") <= 3_600_000
    assert client.exists("user") == 0


def test_a_missing_key_can_fail_the_task(flows: Flows, redis_url: str) -> None:
    final = flows.run(
        f"""
id: redis-missing
namespace: company.team
tasks:
  - id: check_cache
    type: io.kestra.plugin.redis.string.Get
    url: {redis_url}
    key: absent
    failedOnMissing: true
"""
    )
    assert final.state is State.FAILED
    assert "the key 'absent' does not exist" in flows.logs(final, "ERROR")
