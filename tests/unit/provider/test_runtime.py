"""The provider runtime without Terraform: values, planning, and how failures read."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, ClassVar

import msgpack
import pytest

from controlplane.client.errors import Conflict
from controlplane.provider.gen import tfplugin6_pb2 as pb
from controlplane.provider.generate import generate
from controlplane.provider.runtime.diagnostics import Diagnostics, Key, ProviderError
from controlplane.provider.runtime.resource import Change, Current, Plan, Resource, plan_change
from controlplane.provider.runtime.schema import NUMBER, STRING, Attribute, Schema, map_of
from controlplane.provider.runtime.service import Provider, ProviderService
from controlplane.provider.runtime.values import UNKNOWN, decode, encode


class Thing(Resource[Any]):
    type_name = "test_thing"
    schema = Schema(
        attributes=(
            Attribute("id", STRING, "id", computed=True),
            Attribute("name", STRING, "name", required=True, requires_replace=True),
            Attribute("note", STRING, "note", optional=True),
            Attribute("tags", map_of(STRING), "tags", optional=True),
            Attribute("secret_wo", STRING, "secret", optional=True, write_only=True),
            Attribute("revision", NUMBER, "revision", computed=True, volatile=True),
            Attribute("kind", STRING, "kind", optional=True, computed=True, default="plain"),
        )
    )
    failure: ClassVar[Exception | None] = None

    def create(self, change: Change) -> dict[str, Any]:
        if self.failure is not None:
            raise self.failure
        return {**change.planned, "id": change.planned["name"], "revision": 1}

    def read(self, current: Current) -> dict[str, Any] | None:
        return current.state

    def update(self, change: Change) -> dict[str, Any]:
        return {**change.planned, "revision": 2}

    def delete(self, current: Current) -> None:
        return None


class Toy(Provider):
    schema = Schema(attributes=())
    resource_types = (Thing,)
    data_source_types = ()

    def configure(self, config: dict[str, Any], diagnostics: Diagnostics) -> None:
        return None


def state(**values: Any) -> dict[str, Any]:
    base = {"id": "a", "name": "a", "note": None, "tags": None, "secret_wo": None}
    return {**base, "revision": 1, "kind": "plain", **values}


def planned(prior: dict[str, Any] | None, config: dict[str, Any]) -> Plan:
    proposed = {**(prior or {}), **config}
    plan = Plan(prior=prior, planned=proposed, config=config)
    plan_change(Thing(None), plan)
    return plan


def test_unknown_values_travel_as_msgpack_extensions() -> None:
    value = {"a": UNKNOWN, "b": [1, "x", None], "c": {"d": True}}
    assert decode(encode(value)) == value
    refined = msgpack.packb({"a": msgpack.ExtType(12, b"\x81\x01\xc3")})
    assert decode(pb.DynamicValue(msgpack=refined)) == {"a": UNKNOWN}
    assert decode(pb.DynamicValue(json=b'{"a": 1}')) == {"a": 1}


def test_create_plans_computed_values_as_unknown_or_their_default() -> None:
    plan = planned(
        None, {"name": "a", "secret_wo": "s3cret", "id": None, "revision": None, "kind": None}
    )
    assert plan.planned["id"] is UNKNOWN and plan.planned["revision"] is UNKNOWN
    assert plan.planned["kind"] == "plain"
    assert plan.planned["secret_wo"] is None


def test_an_update_makes_volatile_values_unknown_and_nothing_else() -> None:
    plan = planned(state(), {"name": "a", "note": "new"})
    assert plan.planned["revision"] is UNKNOWN and plan.planned["id"] == "a"
    assert plan.replace == []
    unchanged = planned(state(), {"name": "a", "secret_wo": "changed"})
    assert unchanged.planned["revision"] == 1  # a write-only value is no change by itself


def test_a_changed_replacing_attribute_asks_for_replacement() -> None:
    plan = planned(state(), {"name": "b"})
    assert plan.replace == ["name"] and plan.planned["id"] is UNKNOWN


def service_with_failure(failure: Exception) -> ProviderService:
    Thing.failure = failure
    return ProviderService(Toy())


def apply_create() -> pb.ApplyResourceChange.Request:
    return pb.ApplyResourceChange.Request(
        type_name="test_thing",
        prior_state=encode(None),
        planned_state=encode(state(id=UNKNOWN, revision=UNKNOWN)),
        config=encode({"name": "a"}),
    )


@pytest.mark.parametrize(
    ("failure", "summary"),
    [
        (RuntimeError("disk on fire"), "creating test_thing failed: RuntimeError: disk on fire"),
        (ProviderError("name is taken", "pick another", ["name"]), "name is taken"),
        (Conflict("flow a is managed by 'git'"), "creating test_thing: flow a is managed by 'git'"),
    ],
)
def test_whatever_a_resource_raises_becomes_a_diagnostic(failure: Exception, summary: str) -> None:
    try:
        answer = service_with_failure(failure).ApplyResourceChange(apply_create(), None)
    finally:
        Thing.failure = None
    (diagnostic,) = answer.diagnostics
    assert diagnostic.severity == pb.Diagnostic.ERROR and diagnostic.summary == summary


def test_write_only_values_never_come_back_in_state() -> None:
    answer = ProviderService(Toy()).ApplyResourceChange(apply_create(), None)
    assert decode(answer.new_state)["secret_wo"] is None and not answer.diagnostics


def test_an_old_state_is_shaped_to_the_schema_on_upgrade() -> None:
    request = pb.UpgradeResourceState.Request(type_name="test_thing", version=0)
    request.raw_state.json = json.dumps({"id": "a", "name": "a", "gone": 1}).encode()
    answer = ProviderService(Toy()).UpgradeResourceState(request, None)
    upgraded = decode(answer.upgraded_state)
    assert "gone" not in upgraded and upgraded["revision"] is None and upgraded["name"] == "a"
    request.version = 7
    answer = ProviderService(Toy()).UpgradeResourceState(request, None)
    assert "cannot upgrade test_thing state from schema version 7" in answer.diagnostics[0].summary


def test_an_unknown_type_is_named() -> None:
    answer = ProviderService(Toy()).ReadResource(
        pb.ReadResource.Request(type_name="test_other", current_state=encode({})), None
    )
    assert answer.diagnostics[0].summary == "unknown resource type test_other"


def test_map_keys_and_indexes_in_attribute_paths() -> None:
    error = ProviderError("bad", path=["tags", Key("team"), 0])
    steps = error.diagnostic.to_proto().attribute.steps
    assert [s.WhichOneof("selector") for s in steps] == [
        "attribute_name",
        "element_key_string",
        "element_key_int",
    ]


# What a generator's release stamps into the stubs: the oldest runtime they accept, not the messages
# or services. A newer patch release of grpcio-tools must not make the checked-in stubs stale.
_VERSION_STAMPS = re.compile(
    r"^GRPC_GENERATED_VERSION = [^\n]*$|^# Protobuf Python Version: [^\n]*$"
    r"|^_runtime_version\.ValidateProtobufRuntimeVersion\(.*?^\)$",
    re.M | re.S,
)


def _without_version_stamps(text: str) -> str:
    return _VERSION_STAMPS.sub("", text)


def test_checked_in_stubs_match_the_protocol_files(tmp_path: Path) -> None:
    checked_in = Path(pb.__file__).parent
    for path in generate(tmp_path):
        assert _without_version_stamps(path.read_text()) == _without_version_stamps(
            (checked_in / path.name).read_text()
        ), f"{path.name} is stale: run python -m controlplane.provider.generate"


def test_a_changed_message_is_not_hidden_by_the_stamp_filter() -> None:
    stub = (Path(pb.__file__).parent / "tfplugin6_pb2.py").read_text()
    changed = stub.replace("GetProviderSchema", "GetProviderSchemaX", 1)
    assert _without_version_stamps(changed) != _without_version_stamps(stub)
