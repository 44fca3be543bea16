"""The options of the commands that talk to a running server: where it is and how to sign in,
and how a refused or unanswered call reads on standard error."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from controlplane.client import ClientError, WeirClient

EXIT_ERROR = 1


def add_server_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--server",
        metavar="URL",
        default=None,
        help="the Weir server (default: $WEIR_URL, else http://127.0.0.1:8080)",
    )
    parser.add_argument(
        "--token",
        default=None,
        help="an API token (default: $WEIR_TOKEN, which no process list shows)",
    )


def client_from(args: argparse.Namespace, *, manager: str | None = None) -> WeirClient:
    from controlplane.client import WeirClient

    token = args.token if args.token is not None else os.environ.get("WEIR_TOKEN")
    return WeirClient(args.server, token, manager=manager)


def explain(error: ClientError, url: str) -> str:
    """One line that says what the server refused (or that none answered) and what to do."""
    from controlplane.client import NotFound, Unauthorized, Unreachable

    message = " ".join(str(error).split())
    if isinstance(error, Unreachable):
        return (
            f"cannot reach the Weir server at {error.url}: {error.reason}; start one with "
            "`weir server standalone`, or set WEIR_URL=http://HOST:PORT (or pass --server URL) "
            "to where yours runs"
        )
    if isinstance(error, NotFound):
        return f"{message} on the server at {url}"
    if isinstance(error, Unauthorized):
        return f"{message}; set WEIR_TOKEN (or --token) to a token of the server at {url}"
    return message


def fail(command: str, message: str) -> int:
    """Print ``weir COMMAND: message`` on one line of standard error; the exit code to return."""
    print(f"weir {command}: {' '.join(message.split())}", file=sys.stderr)
    return EXIT_ERROR
