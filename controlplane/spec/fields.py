"""Field types shared by the models of the language.

Kestra's properties are either static (used verbatim) or dynamic (``Property<T>``: a literal of
type T or an expression string rendered at run time). ``Dyn*`` types accept both, keeping an
expression as its source text; the engine renders and coerces it when the task runs.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    TypeAdapter,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

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


def _dynamic(adapter: TypeAdapter[Any]) -> Any:
    def validate(value: Any) -> Any:
        if isinstance(value, str) and has_expression(value):
            return value
        return adapter.validate_python(value)

    return validate


def _expression_or(schema: dict[str, Any]) -> WithJsonSchema:
    return WithJsonSchema(
        {"anyOf": [schema, {"type": "string", "pattern": r".*\{[{%].*", "title": "expression"}]}
    )


_DURATION_SCHEMA = {"type": "string", "format": "duration", "description": DURATION_HINT}

Duration = Annotated[timedelta, PlainValidator(_duration), WithJsonSchema(_DURATION_SCHEMA)]
"""A static ISO-8601 duration."""

DynDuration = Annotated[
    timedelta | str,
    PlainValidator(_dynamic(TypeAdapter(Duration))),
    _expression_or(_DURATION_SCHEMA),
]
DynInt = Annotated[
    int | str, PlainValidator(_dynamic(TypeAdapter(int))), _expression_or({"type": "integer"})
]
DynFloat = Annotated[
    float | str, PlainValidator(_dynamic(TypeAdapter(float))), _expression_or({"type": "number"})
]
DynBool = Annotated[
    bool | str, PlainValidator(_dynamic(TypeAdapter(bool))), _expression_or({"type": "boolean"})
]
DynList = Annotated[
    list[Any] | str,
    PlainValidator(_dynamic(TypeAdapter(list[Any]))),
    _expression_or({"type": "array"}),
]
DynMap = Annotated[
    dict[str, Any] | str,
    PlainValidator(_dynamic(TypeAdapter(dict[str, Any]))),
    _expression_or({"type": "object"}),
]
DynStrList = Annotated[
    list[str] | str,
    PlainValidator(_dynamic(TypeAdapter(list[str]))),
    _expression_or({"type": "array", "items": {"type": "string"}}),
]


def _text(value: Any) -> Any:
    """Scalars given where Kestra takes a string (``format: 42``) are kept as their text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


Text = Annotated[str, BeforeValidator(_text)]
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
    BeforeValidator(_labels),
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
