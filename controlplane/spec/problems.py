"""What validation reports: problems at a place in a file.

A :class:`Problem` names the file, the line and column, the YAML path of the field
(``tasks[2].retry.maxAttempts``) and a message that says what was expected. Validation never
raises for bad input; it returns problems. :class:`FlowInvalid` wraps them for callers that want an
exception (the engine refusing a flow, the API answering 422).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from controlplane.errors import WeirError

YamlPath = tuple[str | int, ...]


def format_path(path: YamlPath) -> str:
    """``("tasks", 2, "retry")`` -> ``tasks[2].retry``; keys that are not identifiers are quoted."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.replace("_", "a").replace("-", "a").isalnum():
            out += f".{part}" if out else part
        else:
            out += f"[{part!r}]"
    return out


@dataclass(frozen=True)
class Location:
    file: str
    line: int
    column: int
    path: YamlPath

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    severity: Severity
    location: Location
    message: str
    code: str

    @classmethod
    def error(cls, location: Location, message: str, code: str) -> Problem:
        return cls(Severity.ERROR, location, message, code)

    @classmethod
    def warning(cls, location: Location, message: str, code: str) -> Problem:
        return cls(Severity.WARNING, location, message, code)

    @property
    def path(self) -> str:
        return format_path(self.location.path)

    def __str__(self) -> str:
        where = f" at {self.path}" if self.location.path else ""
        return f"{self.location}: {self.severity.value}{where}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity.value,
            "file": self.location.file,
            "line": self.location.line,
            "column": self.location.column,
            "path": self.path,
            "message": self.message,
            "code": self.code,
        }


class FlowInvalid(WeirError):
    """A flow failed validation; ``problems`` holds every error and warning found."""

    code = "flow_invalid"

    def __init__(self, problems: list[Problem]) -> None:
        errors = [p for p in problems if p.severity is Severity.ERROR]
        first = str(errors[0]) if errors else "invalid flow"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(first + more)
        self.problems = problems
