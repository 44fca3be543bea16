"""The typed HTTP client of a Weir server: :class:`WeirClient`, its errors and its results.

It imports only ``requests``, the standard library and ``controlplane.errors`` /
``controlplane.spec``, so that the CLI and other tools can use it without the server's code.
"""

from controlplane.client.client import WeirClient
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
