"""Redis strings and lists against a real redis-server (Debian's package) on 127.0.0.1, on
the shape of kestra-io/blueprints' ``redis-set-get-json``, ``llm-response-cache`` and
``redis-list-push-pop`` flows."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from controlplane.engine.model import State
from controlplane.tasks.ion_text import read_values
from tests.integration.compat.conftest import Flows


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A redis-server of its own on a free port of 127.0.0.1, keeping nothing on disk."""
    server = shutil.which("redis-server")
    assert server, "redis-server is not installed (sudo bash scripts/system-deps.sh)"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with subprocess.Popen(
        [server, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    ) as process:  # fmt: skip
        assert process.stdout is not None
        # Each line it logs while starting is progress; it says when it listens.
        for line in process.stdout:
            if "Ready to accept connections" in line:
                break
        else:
            raise AssertionError(f"redis-server exited with {process.wait()} before listening")
        drain = threading.Thread(target=process.stdout.read, daemon=True)
        drain.start()
        try:
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            process.terminate()
            process.wait(60)
            drain.join()


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
