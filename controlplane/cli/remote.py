"""The options of the commands that talk to a running server: where it is and how to sign in."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from controlplane.client import WeirClient


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
