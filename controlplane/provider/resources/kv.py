"""``weir_kv``: a typed KV pair of a namespace, its value written as text.

Terraform holds the value as a string whatever its type; the provider sends it to Weir as the
JSON the type calls for (a NUMBER as a number, a BOOLEAN as true or false, JSON parsed) and reads
it back as text. The server may write a value in another form than the configuration did (JSON
with other spacing, ``PT90M`` as ``PT1H30M``): a value read back that means the same as the
state's keeps the state's text, so only a real change shows in a plan.
"""

from __future__ import annotations

import json
import math
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from controlplane.provider.resources.common import (
    REVISION,
    WeirResource,
    check_pattern,
    created,
    id_attribute,
    namespace_attribute,
    read_or_none,
    split_id,
    writing,
)
from controlplane.provider.runtime.diagnostics import Diagnostics, ProviderError
from controlplane.provider.runtime.resource import Change, Current, Plan, State
from controlplane.provider.runtime.schema import STRING, Attribute, Schema
from controlplane.provider.runtime.values import UNKNOWN
from controlplane.spec.durations import DURATION_HINT, parse_duration
from controlplane.spec.names import KV_KEY_MAX, KV_KEY_PATTERN

if TYPE_CHECKING:
    from controlplane.client.models import KvPair

ID_FORM = "namespace/key"
TYPES = ("STRING", "NUMBER", "BOOLEAN", "DATETIME", "DATE", "DURATION", "JSON")
DEFAULT_TYPE = "STRING"
KEY_RULE = (
    "A KV key has 1 to 255 letters, digits, '.', '_' and '-', and starts with a letter or a "
    "digit, such as last_run.date."
)
EXPECTED = {
    "NUMBER": "a number such as 42 or 0.5",
    "BOOLEAN": '"true" or "false"',
    "DATETIME": "an ISO 8601 date and time with its offset, such as 2025-01-31T08:00:00Z",
    "DATE": "an ISO 8601 date such as 2025-01-31",
    "DURATION": DURATION_HINT,
    "JSON": "a JSON document other than null, such as jsonencode({ a = 1 })",
}


class KvResource(WeirResource):
    type_name = "weir_kv"
    schema = Schema(
        description="A KV pair of a namespace, read by flows as `{{ kv('KEY') }}`.",
        attributes=(
            id_attribute(ID_FORM),
            namespace_attribute("KV pair"),
            Attribute(
                "key",
                STRING,
                "The key: letters, digits, `.`, `_` and `-`, starting with a letter or digit. "
                "Changing it replaces the pair.",
                required=True,
                requires_replace=True,
            ),
            Attribute(
                "value",
                STRING,
                "The value as text, read as `type` says: `42` for a NUMBER, `true` for a "
                "BOOLEAN, `jsonencode(...)` for JSON, `PT1H` for a DURATION.",
                required=True,
            ),
            Attribute(
                "type",
                STRING,
                f"One of {', '.join(TYPES)}; `{DEFAULT_TYPE}` when unset.",
                optional=True,
                computed=True,
                default=DEFAULT_TYPE,
            ),
            Attribute(
                "ttl",
                STRING,
                "How long the pair lives after each write, as an ISO 8601 duration such as "
                "`PT1H` or `P7D`; forever when unset. Once it has expired the pair is gone, "
                "and the next plan creates it again.",
                optional=True,
            ),
            Attribute(
                "expires",
                STRING,
                "When the pair expires (RFC 3339), or null when it never does.",
                computed=True,
                volatile=True,
            ),
            REVISION,
        ),
    )

    def validate(self, config: State, diagnostics: Diagnostics) -> None:
        check_pattern(config, "key", KV_KEY_PATTERN, KV_KEY_MAX, KEY_RULE, diagnostics)
        kind = config.get("type")
        if isinstance(kind, str) and kind not in TYPES:
            diagnostics.error(
                f"type {kind!r} is not a KV type",
                f"Use one of {', '.join(TYPES)}, or leave it unset for {DEFAULT_TYPE}.",
                ["type"],
            )
        ttl = config.get("ttl")
        if isinstance(ttl, str) and not _positive_duration(ttl):
            diagnostics.error(
                f"ttl {ttl!r} is not a positive ISO 8601 duration",
                f"Write {DURATION_HINT}.",
                ["ttl"],
            )
        value = config.get("value")
        if isinstance(value, str) and (kind is None or kind in TYPES):
            try:
                to_json(value, kind or DEFAULT_TYPE)
            except ProviderError as error:
                diagnostics.add(error.diagnostic)

    def modify_plan(self, plan: Plan) -> None:
        """An unset type is a STRING, and an unset ttl means no expiry: plan them as such, so
        that a type or expiry changed outside Terraform shows as a diff."""
        if plan.config.get("type") is None:
            plan.planned["type"] = DEFAULT_TYPE
        if plan.config.get("ttl") is None:
            plan.planned["expires"] = None
        if plan.prior is None:
            return
        if any(plan.changed(name) for name in ("value", "type", "ttl", "expires")):
            plan.planned["revision"] = UNKNOWN
            if plan.config.get("ttl") is not None:
                plan.planned["expires"] = UNKNOWN

    def create(self, change: Change) -> State:
        return self._set(change.planned, if_match=0)

    def update(self, change: Change) -> State:
        assert change.prior is not None
        return self._set(change.planned, if_match=change.prior["revision"])

    def read(self, current: Current) -> State | None:
        state = current.state
        found = read_or_none(lambda: self.provider.client.kv.get(state["namespace"], state["key"]))
        return None if found is None else _state(found, state)

    def delete(self, current: Current) -> None:
        state = current.state
        with writing(f"KV pair {_label(state)}"):
            read_or_none(
                lambda: self.provider.client.kv.delete(
                    state["namespace"], state["key"], if_match=state["revision"]
                )
            )

    def import_state(self, import_id: str) -> Current:
        namespace, key = split_id(import_id, ID_FORM)
        with writing(f"KV pair {key} of namespace {namespace}"):
            found = self.provider.client.kv.get(namespace, key)
        return Current(_state(found, {}))

    def _set(self, planned: State, if_match: int) -> State:
        kind = planned["type"]
        value = to_json(planned["value"], kind)
        namespace, key = planned["namespace"], planned["key"]
        creating = None
        if if_match == 0:
            creating = created(
                self.provider,
                self.type_name,
                f"{namespace}/{key}",
                "namespaces",
                namespace,
                "kv",
                key,
            )
        with writing(f"KV pair {_label(planned)}", creating=creating):
            saved = self.provider.client.kv.set(
                planned["namespace"],
                planned["key"],
                value,
                type=kind,
                ttl=planned["ttl"],
                if_match=if_match,
            )
        return _state(saved, planned)


def _state(found: KvPair, prior: State) -> State:
    return {
        "id": f"{found.namespace}/{found.key}",
        "namespace": found.namespace,
        "key": found.key,
        "value": to_text(found.value, found.type, prior.get("value")),
        "type": found.type,
        "ttl": prior.get("ttl"),
        "expires": found.expires.isoformat() if found.expires is not None else None,
        "revision": found.revision,
    }


def _label(state: State) -> str:
    return f"{state.get('key')} of namespace {state.get('namespace')}"


def _positive_duration(text: str) -> bool:
    try:
        return parse_duration(text).total_seconds() > 0
    except (ValueError, OverflowError):
        return False


def to_json(text: str, kind: str) -> Any:
    """The JSON value to send for ``text`` of type ``kind``; a :class:`ProviderError` on
    ``value`` when the text is not of that type."""
    try:
        parsed = _parse(text, kind)
    except (ValueError, OverflowError):
        parsed = None
    if parsed is None:
        raise ProviderError(
            f"value is not a {kind}",
            f"A {kind} value is written as {EXPECTED[kind]}; change value, or type.",
            ["value"],
        )
    return parsed


def _parse(text: str, kind: str) -> Any:
    """The value, or None when ``text`` is not of type ``kind``."""
    if kind == "NUMBER":
        number = _strict_json(text.strip())
        if isinstance(number, bool) or not isinstance(number, int | float):
            return None
        return number
    if kind == "BOOLEAN":
        return {"true": True, "false": False}.get(text)
    if kind == "JSON":
        return _strict_json(text)
    if kind == "DATETIME" and datetime.fromisoformat(text).tzinfo is None:
        return None
    if kind == "DATE":
        date.fromisoformat(text)
    if kind == "DURATION":
        parse_duration(text)
    return text


def _strict_json(text: str) -> Any:
    """JSON without NaN or Infinity, which no KV value can hold."""

    def refuse(constant: str) -> Any:
        raise ValueError(constant)

    value = json.loads(text, parse_constant=refuse)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def to_text(value: Any, kind: str, prior: Any) -> str:
    """The server's value as text: ``prior`` (the state's text) when it means the same."""
    if isinstance(prior, str) and _same(prior, value, kind):
        return prior
    if kind == "BOOLEAN":
        return "true" if value else "false"
    if kind in ("NUMBER", "JSON"):
        return jsonencode(value)
    return str(value)


def jsonencode(value: Any) -> str:
    """JSON text as Terraform's ``jsonencode`` writes it (keys sorted, no spaces, ``<``, ``>``
    and ``&`` escaped), so that a value imported or read back after a change outside Terraform
    matches a configuration that uses ``jsonencode``."""
    text = json.dumps(
        _whole_numbers(value), separators=(",", ":"), sort_keys=True, ensure_ascii=False
    )
    for plain, escaped in _JSONENCODE_ESCAPES:
        text = text.replace(plain, escaped)
    return text


def _whole_numbers(value: Any) -> Any:
    """``value`` with whole floats as integers: Terraform writes 1.0 and 1e20 as 1 and
    100000000000000000000."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _whole_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_whole_numbers(item) for item in value]
    return value


_JSONENCODE_ESCAPES = (
    ("<", "\\u003c"),
    (">", "\\u003e"),
    ("&", "\\u0026"),
    ("\u2028", "\\u2028"),
    ("\u2029", "\\u2029"),
)


def _same(text: str, value: Any, kind: str) -> bool:
    try:
        parsed = _parse(text, kind)
        if parsed is None:
            return False
        if kind == "DATETIME":
            return datetime.fromisoformat(parsed) == datetime.fromisoformat(value)
        if kind == "DATE":
            return date.fromisoformat(parsed) == date.fromisoformat(value)
        if kind == "DURATION":
            return parse_duration(parsed) == parse_duration(value)
    except (TypeError, ValueError, OverflowError):
        return False
    return same_json(parsed, value)


def same_json(left: Any, right: Any) -> bool:
    """JSON equality: numbers by value (1 equals 1.0), but true is not 1."""
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if isinstance(left, int | float) and isinstance(right, int | float):
        return left == right
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(same_json(left[k], right[k]) for k in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(same_json, left, right))
    return type(left) is type(right) and left == right
