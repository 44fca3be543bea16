"""The typed HTTP client of a Weir server: :class:`WeirClient`, its errors and its results.

It imports only ``requests``, the standard library and ``controlplane.errors`` /
``controlplane.spec``, so that the CLI and other tools can use it without the server's code.
:class:`WeirClient` (and with it ``requests``) is imported on first use: a Terraform provider
process that only answers schema questions never needs it.
"""

from typing import TYPE_CHECKING, Any

from controlplane.client.errors import (
    ClientError,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    ServerError,
    Unauthorized,
    Unreachable,
)

__all__ = [
    "ClientError",
    "Conflict",
    "Forbidden",
    "Invalid",
    "NotFound",
    "ServerError",
    "Unauthorized",
    "Unreachable",
    "WeirClient",
]

if TYPE_CHECKING:
    from controlplane.client.client import WeirClient


def __getattr__(name: str) -> Any:
    if name == "WeirClient":
        from controlplane.client.client import WeirClient

        return WeirClient
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
