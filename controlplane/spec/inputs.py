"""Flow inputs: one model per input type, each able to coerce a value to its type.

``coerce`` is the single place where a value given for an input (a default, a value from the API,
a trigger's inputs) becomes the typed value expressions see, or is refused with a reason. FILE
inputs are coerced by the engine, which owns internal storage; here they are only shape-checked.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlparse

import yaml
from pydantic import AliasChoices, Field

from controlplane.spec.durations import format_duration, parse_duration
from controlplane.spec.fields import Duration, Spec

InputId = Annotated[str, Field(pattern=r"^[a-zA-Z0-9][.a-zA-Z0-9_-]*$", max_length=100)]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class DependsOn(Spec):
    inputs: list[str] = Field(default_factory=list)
    condition: str | None = None


class InputSpec(Spec):
    id: InputId = Field(validation_alias=AliasChoices("id", "name"))
    type: str
    description: str | None = None
    displayName: str | None = None
    required: bool = True
    defaults: Any = None
    prefill: Any = None
    dependsOn: DependsOn | None = None

    def coerce(self, value: Any) -> Any:
        """The typed value for ``value``; raises ValueError with what was expected."""
        return value


class StringInput(InputSpec):
    type: Literal["STRING"]
    validator: str | None = None

    def coerce(self, value: Any) -> Any:
        text = value if isinstance(value, str) else _scalar_text(value)
        if self.validator is not None and re.fullmatch(self.validator, text) is None:
            raise ValueError(f"'{text}' does not match the pattern {self.validator}")
        return text


class SecretInput(StringInput):
    type: Literal["SECRET"]  # type: ignore[assignment]


class EmailInput(InputSpec):
    type: Literal["EMAIL"]

    def coerce(self, value: Any) -> Any:
        if not isinstance(value, str) or _EMAIL.match(value) is None:
            raise ValueError(f"expected an e-mail address, got {value!r}")
        return value


class UriInput(InputSpec):
    type: Literal["URI"]

    def coerce(self, value: Any) -> Any:
        parsed = urlparse(str(value)) if isinstance(value, str) else None
        if parsed is None or not parsed.scheme:
            raise ValueError(f"expected a URI with a scheme, got {value!r}")
        return value


class IntInput(InputSpec):
    type: Literal["INT"]
    min: int | None = None
    max: int | None = None

    def coerce(self, value: Any) -> Any:
        number = _number(value, int, "an integer")
        return _bounded(number, self.min, self.max)


class FloatInput(InputSpec):
    type: Literal["FLOAT"]
    min: float | None = None
    max: float | None = None

    def coerce(self, value: Any) -> Any:
        number = _number(value, float, "a number")
        return _bounded(number, self.min, self.max)


class BoolInput(InputSpec):
    type: Literal["BOOLEAN", "BOOL"]

    def coerce(self, value: Any) -> Any:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise ValueError(f"expected true or false, got {value!r}")


class SelectInput(InputSpec):
    type: Literal["SELECT", "ENUM"]
    values: list[Any] | None = None
    expression: str | None = None
    allowCustomValue: bool = False
    autoSelectFirst: bool = False
    isRadio: bool = False

    def coerce(self, value: Any) -> Any:
        text = _scalar_text(value)
        allowed = [_scalar_text(v) for v in self.values or []]
        if self.values is not None and not self.allowCustomValue and text not in allowed:
            raise ValueError(f"'{text}' is not one of {', '.join(allowed)}")
        return text


class MultiselectInput(InputSpec):
    type: Literal["MULTISELECT"]
    values: list[Any] | None = None
    options: list[Any] | None = None
    expression: str | None = None
    allowCustomValue: bool = False
    autoSelectFirst: bool = False

    def coerce(self, value: Any) -> Any:
        items = _list(value)
        choices = self.values if self.values is not None else self.options
        allowed = [_scalar_text(v) for v in choices or []]
        chosen = [_scalar_text(item) for item in items]
        if choices is not None and not self.allowCustomValue:
            wrong = [item for item in chosen if item not in allowed]
            if wrong:
                raise ValueError(f"{', '.join(wrong)} not among {', '.join(allowed)}")
        return chosen


class DateTimeInput(InputSpec):
    type: Literal["DATETIME"]
    after: datetime | None = None
    before: datetime | None = None

    def coerce(self, value: Any) -> Any:
        moment = value if isinstance(value, datetime) else _parse(value, _datetime, "date-time")
        _check_range(moment, self.after, self.before)
        return moment.isoformat().replace("+00:00", "Z")


class DateInput(InputSpec):
    type: Literal["DATE"]
    after: date | None = None
    before: date | None = None

    def coerce(self, value: Any) -> Any:
        day = value if isinstance(value, date) else _parse(value, date.fromisoformat, "date")
        _check_range(day, self.after, self.before)
        return day.isoformat()


class TimeInput(InputSpec):
    type: Literal["TIME"]
    after: time | None = None
    before: time | None = None

    def coerce(self, value: Any) -> Any:
        moment = value if isinstance(value, time) else _parse(value, time.fromisoformat, "time")
        _check_range(moment, self.after, self.before)
        return moment.isoformat()


class DurationInput(InputSpec):
    type: Literal["DURATION"]
    min: Duration | None = None
    max: Duration | None = None

    def coerce(self, value: Any) -> Any:
        length = (
            value if isinstance(value, timedelta) else _parse(value, parse_duration, "duration")
        )
        _check_range(length, self.min, self.max)
        return value if isinstance(value, str) else format_duration(length)


class FileInput(InputSpec):
    type: Literal["FILE"]
    allowedFileExtensions: list[str] | None = None
    extension: str | None = None

    def coerce(self, value: Any) -> Any:
        if not isinstance(value, str) or not value:
            raise ValueError(f"expected a file (an uploaded file or a URI), got {value!r}")
        return value


class JsonInput(InputSpec):
    type: Literal["JSON"]

    def coerce(self, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not valid JSON: {exc.msg} at character {exc.pos}") from None


class YamlInput(InputSpec):
    type: Literal["YAML"]

    def coerce(self, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return yaml.safe_load(value)
        except yaml.YAMLError as exc:
            raise ValueError(f"not valid YAML: {exc}") from None


class ArrayInput(InputSpec):
    type: Literal["ARRAY"]
    itemType: Literal[
        "STRING", "INT", "FLOAT", "BOOLEAN", "BOOL", "DATETIME", "DATE", "TIME",
        "DURATION", "JSON", "URI", "EMAIL",
    ]  # fmt: skip

    def coerce(self, value: Any) -> Any:
        items = _list(value)
        item = INPUT_TYPES[self.itemType].model_validate({"id": self.id, "type": self.itemType})
        out = []
        for index, element in enumerate(items):
            try:
                out.append(item.coerce(element))
            except ValueError as exc:
                raise ValueError(f"item {index}: {exc}") from None
        return out


Input = Annotated[
    StringInput | SecretInput | EmailInput | UriInput | IntInput | FloatInput | BoolInput
    | SelectInput | MultiselectInput | DateTimeInput | DateInput | TimeInput | DurationInput
    | FileInput | JsonInput | YamlInput | ArrayInput,
    Field(discriminator="type"),
]  # fmt: skip

INPUT_TYPES: dict[str, type[InputSpec]] = {
    "STRING": StringInput, "SECRET": SecretInput, "EMAIL": EmailInput, "URI": UriInput,
    "INT": IntInput, "FLOAT": FloatInput, "BOOLEAN": BoolInput, "BOOL": BoolInput,
    "SELECT": SelectInput, "ENUM": SelectInput, "MULTISELECT": MultiselectInput,
    "DATETIME": DateTimeInput, "DATE": DateInput, "TIME": TimeInput, "DURATION": DurationInput,
    "FILE": FileInput, "JSON": JsonInput, "YAML": YamlInput, "ARRAY": ArrayInput,
}  # fmt: skip


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise ValueError(f"expected text, got {type(value).__name__}")


def _number(value: Any, kind: type[int] | type[float], what: str) -> Any:
    if isinstance(value, bool):
        raise ValueError(f"expected {what}, got {value!r}")
    if kind is float and isinstance(value, int | float):
        return float(value)
    if kind is int and isinstance(value, int):
        return value
    if kind is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return kind(value.strip())
        except ValueError:
            pass
    raise ValueError(f"expected {what}, got {value!r}")


def _bounded(number: Any, low: Any, high: Any) -> Any:
    if low is not None and number < low:
        raise ValueError(f"{number} is less than the minimum {low}")
    if high is not None and number > high:
        raise ValueError(f"{number} is greater than the maximum {high}")
    return number


def _list(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            parsed = None
        if isinstance(parsed, list):
            return parsed
    raise ValueError(f"expected a list, got {value!r}")


def _datetime(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(text)
    return moment


def _parse(value: Any, parser: Any, what: str) -> Any:
    if not isinstance(value, str):
        raise ValueError(f"expected an ISO-8601 {what}, got {value!r}")
    try:
        return parser(value.strip())
    except ValueError:
        raise ValueError(f"expected an ISO-8601 {what}, got {value!r}") from None


def _check_range(value: Any, after: Any, before: Any) -> None:
    if after is not None and value < after:
        raise ValueError(f"{value} is before {after}")
    if before is not None and value > before:
        raise ValueError(f"{value} is after {before}")
