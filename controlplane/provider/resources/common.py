"""What the resources share: the provider they are given, import ids, how API errors read in
Terraform, and the attributes every resource has."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

from controlplane.client.errors import ClientError, Conflict, Invalid, NotFound
from controlplane.provider.provider import WeirProvider
from controlplane.provider.resources.conflicts import Creating, refusal
from controlplane.provider.runtime.diagnostics import Diagnostics, Path, ProviderError
from controlplane.provider.runtime.resource import DataSource, Resource
from controlplane.provider.runtime.schema import NUMBER, STRING, Attribute

T = TypeVar("T")

WeirResource = Resource[WeirProvider]
WeirDataSource = DataSource[WeirProvider]

REVISION = Attribute(
    "revision",
    NUMBER,
    "The object's revision on the server; it grows with every change.",
    computed=True,
    volatile=True,
)


def id_attribute(form: str) -> Attribute:
    return Attribute("id", STRING, f"`{form}`, also the import id.", computed=True)


def namespace_attribute(what: str) -> Attribute:
    return Attribute(
        "namespace",
        STRING,
        f"The namespace of the {what}, such as `company.team`. Changing it replaces the {what}.",
        required=True,
        requires_replace=True,
    )


def split_id(import_id: str, form: str) -> tuple[str, str]:
    """``namespace/rest`` split at the first slash (namespaces have none)."""
    namespace, _, rest = import_id.partition("/")
    if not namespace or not rest:
        raise ProviderError(
            f"import id {import_id!r} is not of the form {form}",
            f"Import with: terraform import <address> {form}",
        )
    return namespace, rest


def read_or_none(call: Callable[[], T]) -> T | None:
    """The object, or None when the server says it does not exist (deleted outside Terraform)."""
    try:
        return call()
    except NotFound:
        return None


@contextmanager
def writing(
    what: str, path: Path | None = None, creating: Creating | None = None
) -> Iterator[None]:
    """Turn an API refusal of a write into an error that says what to do; ``creating`` for a
    create, which explains an object that exists already."""
    try:
        yield
    except Conflict as error:
        raise refusal(what, error, creating, path) from None
    except Invalid as error:
        raise ProviderError(f"{what} was refused: {error}", _problems(error), path) from None
    except ClientError as error:
        raise ProviderError(f"{what}: {error}", path=path) from None


def created(
    provider: WeirProvider, type_name: str, import_id: str, *parts: str, tail: str = ""
) -> Creating:
    """What a create of ``type_name`` writes, at the API path made of ``parts`` (then ``tail``,
    already encoded)."""
    from controlplane.client.transport import API, endpoint

    return Creating(type_name, import_id, f"{provider.client.url}{API}{endpoint(*parts)}{tail}")


def _problems(error: Invalid) -> str:
    lines = []
    for problem in error.problems:
        where = f"line {problem['line']}: " if problem.get("line") else ""
        at = f" (at {problem['path']})" if problem.get("path") else ""
        lines.append(f"{where}{problem.get('message', '')}{at}")
    return "\n".join(lines)


def string_map(value: Mapping[str, Any] | None, prior: Any) -> dict[str, str] | None:
    """A server map as a Terraform ``map(string)``: non-string values as JSON, and an empty map
    as null when the state had null (so an unset attribute is no diff)."""
    if not value:
        return {} if prior == {} else None
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in value.items()}


def check_pattern(
    config: Mapping[str, Any],
    name: str,
    pattern: str,
    longest: int,
    rule: str,
    diagnostics: Diagnostics,
) -> None:
    """An error on attribute ``name`` when its value is known and does not match ``pattern`` or
    is longer than ``longest``: the server has the same rule, checked here too so that the plan
    fails, not the apply."""
    value = config.get(name)
    if isinstance(value, str) and (len(value) > longest or re.fullmatch(pattern, value) is None):
        diagnostics.error(f"{name} {value!r} is not valid", rule, [name])
