"""Field types shared by the models of the language.

Kestra's properties are either static (used verbatim) or dynamic (``Property<T>``: a literal of
type T or an expression string rendered at run time). ``Dyn*`` types accept both, keeping an
expression as its source text; the engine renders and coerces it when the task runs.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    TypeAdapter,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError, core_schema

from controlplane.expr import has_expression
from controlplane.spec.durations import DURATION_HINT, parse_duration
from controlplane.spec.names import NAMESPACE_PATTERN


def _duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, str):
        try:
            return parse_duration(value)
        except ValueError:
            pass
    raise PydanticCustomError(
        "duration", "expected {hint}, got {value}", {"hint": DURATION_HINT, "value": repr(value)}
    )


# The field types below hand pydantic their validator as a ready core schema. Written with
# pydantic's PlainValidator / BeforeValidator, every field of every model would have pydantic
# inspect the function's signature and build the schema of the union it serializes: a third of
# the time a task type's model takes to build, paid again by each of the types that use them.


class _Plain:
    """A field validated by ``function`` alone (its value serialized as what it holds)."""

    def __init__(self, function: Callable[[Any], Any]) -> None:
        self.function = function

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(self.function)


class _Before:
    """A field whose value ``function`` prepares before the field's own type validates it."""

    def __init__(self, function: Callable[[Any], Any]) -> None:
        self.function = function

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_before_validator_function(self.function, handler(source))


class _Dynamic:
    """A dynamic property's validator: an expression is kept as written; any other value is
    validated as ``static`` (by an adapter built on first use, not at import)."""

    def __init__(self, static: Any) -> None:
        self.static = static
        self._adapter: TypeAdapter[Any] | None = None

    def __call__(self, value: Any) -> Any:
        if isinstance(value, str) and has_expression(value):
            return value
        if self._adapter is None:
            self._adapter = TypeAdapter(self.static)
        return self._adapter.validate_python(value)


def _expression_or(schema: dict[str, Any]) -> WithJsonSchema:
    return WithJsonSchema(
        {"anyOf": [schema, {"type": "string", "pattern": r".*\{[{%].*", "title": "expression"}]}
    )


_DURATION_SCHEMA = {"type": "string", "format": "duration", "description": DURATION_HINT}

Duration = Annotated[timedelta, _Plain(_duration), WithJsonSchema(_DURATION_SCHEMA)]
"""A static ISO-8601 duration."""

DynDuration = Annotated[
    timedelta | str, _Plain(_Dynamic(Duration)), _expression_or(_DURATION_SCHEMA)
]
DynInt = Annotated[int | str, _Plain(_Dynamic(int)), _expression_or({"type": "integer"})]
DynFloat = Annotated[float | str, _Plain(_Dynamic(float)), _expression_or({"type": "number"})]
# Validation takes the texts pydantic reads as booleans (a quoted ``"false"``), so the schema does.
_BOOL_TEXTS = ["true", "false", "True", "False", "TRUE", "FALSE", "yes", "no", "on", "off"]
DynBool = Annotated[
    bool | str,
    _Plain(_Dynamic(bool)),
    _expression_or({"anyOf": [{"type": "boolean"}, {"type": "string", "enum": _BOOL_TEXTS}]}),
]
DynList = Annotated[list[Any] | str, _Plain(_Dynamic(list[Any])), _expression_or({"type": "array"})]
DynMap = Annotated[
    dict[str, Any] | str, _Plain(_Dynamic(dict[str, Any])), _expression_or({"type": "object"})
]
DynStrList = Annotated[
    list[str] | str,
    _Plain(_Dynamic(list[str])),
    _expression_or({"type": "array", "items": {"type": "string"}}),
]


def _text(value: Any) -> Any:
    """Scalars given where Kestra takes a string (``format: 42``) are kept as their text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


Text = Annotated[str, _Before(_text)]
"""A string property; YAML numbers and booleans given for it become their text, as in Kestra."""

TaskId = Annotated[str, Field(pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_-]*$", max_length=100)]
FlowId = Annotated[str, Field(pattern=r"^[a-zA-Z0-9][a-zA-Z0-9._-]*$", max_length=100)]
NamespaceName = Annotated[str, Field(pattern=NAMESPACE_PATTERN, max_length=150)]


def _labels(value: Any) -> Any:
    """Labels come as a map or as a list of ``{key, value}``; both become a map of strings."""
    if isinstance(value, list):
        labels: dict[str, Any] = {}
        for index, item in enumerate(value):
            if not isinstance(item, dict) or set(item) != {"key", "value"}:
                raise PydanticCustomError(
                    "labels",
                    "label {index} must be a mapping with exactly 'key' and 'value'",
                    {"index": index},
                )
            labels[str(item["key"])] = item["value"]
        value = labels
    if isinstance(value, dict):
        return {str(k): _text(v) for k, v in value.items()}
    return value


Labels = Annotated[
    dict[str, str],
    _Before(_labels),
    WithJsonSchema(
        {
            "anyOf": [
                {
                    "type": "object",
                    "additionalProperties": {"type": ["string", "number", "boolean"]},
                },
                {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"key": {"type": "string"}, "value": {}},
                        "required": ["key", "value"],
                        "additionalProperties": False,
                    },
                },
            ]
        }
    ),
]


def _schema_extra(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """Say in the schema what validation accepts beyond the field types.

    Older spellings of a field (``maxAttempt``, ``name``...) are listed, and an optional property
    may be null, which means absent.
    """
    properties = schema.get("properties", {})
    required = set(schema.get("required", []))
    for name, prop in list(properties.items()):
        if name not in required and not _allows_null(prop):
            properties[name] = {"anyOf": [prop, {"type": "null"}]}
    for field in model.model_fields.values():
        choices = getattr(field.validation_alias, "choices", None)
        if not choices:
            continue
        names = [choice for choice in choices if isinstance(choice, str)]
        primary = next((name for name in names if name in properties), None)
        if primary is None:
            continue
        for name in names:
            if name != primary:
                properties[name] = {**properties[primary], "deprecated": True}
        required = schema.get("required", [])
        if primary in required:
            required.remove(primary)
            if not required:
                del schema["required"]
            schema.setdefault("allOf", []).append({"anyOf": [{"required": [n]} for n in names]})


def _allows_null(prop: dict[str, Any]) -> bool:
    return prop.get("type") == "null" or any(
        branch.get("type") == "null" for branch in prop.get("anyOf", [])
    )


class Spec(BaseModel):
    """Base of every model of the language: unknown properties are errors, as in Kestra.

    A property given as null is treated as absent (``defaults: null`` means no defaults), as
    Kestra's deserializer does.
    """

    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        frozen=True,
        json_schema_extra=_schema_extra,
        # A model's validator is built on its first use, not when its module is imported:
        # most commands touch a few of the registered types.
        defer_build=True,
    )

    @model_validator(mode="before")
    @classmethod
    def _null_is_absent(cls, data: Any) -> Any:
        if isinstance(data, dict) and None in data.values():
            return {key: value for key, value in data.items() if value is not None}
        return data


def build(model: type[BaseModel]) -> None:
    """Build a deferred model, the models its fields hold first.

    Pydantic reuses the schema of a nested model that is built already, but generates one again
    inline, for every model holding it, while it is not: built first, the retry policies, worker
    group and cache that every task type holds are generated once rather than once per type,
    which halves the time a type takes to build.
    """
    _build(model, set())


def _build(model: type[BaseModel], seen: set[type[BaseModel]]) -> None:
    if model.__pydantic_complete__:
        return
    seen.add(model)
    for info in model.model_fields.values():
        for held in _models_in(info.annotation):
            if held not in seen:
                _build(held, seen)
    model.model_rebuild()


def _models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    """The model classes a field's type names (in unions, lists, ``Annotated``...)."""
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel) and annotation is not BaseModel:
            yield annotation
        return
    arguments = typing.get_args(annotation)
    if typing.get_origin(annotation) is Annotated:
        arguments = arguments[:1]
    for argument in arguments:
        yield from _models_in(argument)
