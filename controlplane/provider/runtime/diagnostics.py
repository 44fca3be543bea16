"""What the provider tells Terraform went wrong (or deserves a warning), and where.

A resource raises :class:`ProviderError` for a problem the user can fix, naming the attribute;
anything else that escapes a resource becomes an error diagnostic naming the operation, the
resource type and the exception, so Terraform never shows a bare "plugin error".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum

from controlplane.errors import WeirError
from controlplane.provider.gen import tfplugin6_pb2 as pb


class Key(str):
    """A map key in an attribute path (a plain ``str`` is an attribute name)."""

    __slots__ = ()


Path = Sequence[str | int]
"""An attribute path: attribute names, list indexes, and :class:`Key` for map keys."""


class Severity(IntEnum):
    ERROR = 1
    WARNING = 2


@dataclass(frozen=True)
class Diagnostic:
    severity: Severity
    summary: str
    detail: str = ""
    path: tuple[str | int, ...] | None = None

    def to_proto(self) -> pb.Diagnostic:
        message = pb.Diagnostic(
            severity=int(self.severity), summary=self.summary, detail=self.detail
        )
        if self.path:
            message.attribute.CopyFrom(attribute_path(self.path))
        return message


class ProviderError(WeirError):
    """A problem Terraform shows as an error on ``path``; raise it from a resource."""

    def __init__(self, summary: str, detail: str = "", path: Path | None = None) -> None:
        super().__init__(summary)
        self.diagnostic = Diagnostic(Severity.ERROR, summary, detail, tuple(path) if path else None)


@dataclass
class Diagnostics:
    """Diagnostics gathered while answering one call; ``errors`` means the call failed."""

    items: list[Diagnostic] = field(default_factory=list)

    def error(self, summary: str, detail: str = "", path: Path | None = None) -> None:
        self.items.append(Diagnostic(Severity.ERROR, summary, detail, _path(path)))

    def warning(self, summary: str, detail: str = "", path: Path | None = None) -> None:
        self.items.append(Diagnostic(Severity.WARNING, summary, detail, _path(path)))

    def add(self, diagnostic: Diagnostic) -> None:
        self.items.append(diagnostic)

    @property
    def errors(self) -> bool:
        return any(d.severity is Severity.ERROR for d in self.items)

    def to_proto(self) -> list[pb.Diagnostic]:
        return [d.to_proto() for d in self.items]


def _path(path: Path | None) -> tuple[str | int, ...] | None:
    return tuple(path) if path else None


def attribute_path(steps: Iterable[str | int]) -> pb.AttributePath:
    """``("inputs", 0, "type")`` or ``("labels", Key("team"))`` as Terraform's path."""
    path = pb.AttributePath()
    for step in steps:
        if isinstance(step, int):
            path.steps.add(element_key_int=step)
        elif isinstance(step, Key):
            path.steps.add(element_key_string=str(step))
        else:
            path.steps.add(attribute_name=step)
    return path
