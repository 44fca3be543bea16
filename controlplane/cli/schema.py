"""``weir schema flow|api``: print the JSON Schema of the flow language, or the API's OpenAPI."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "schema",
        help="print the JSON Schema of the flow language, or the API's OpenAPI document",
        description="Print the JSON Schema yaml-language-server uses to complete and check "
        "flows ('flow'), or the OpenAPI document of the HTTP API ('api').",
    )
    parser.add_argument("what", choices=["flow", "api"], help="which schema to print")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    document = api_schema() if args.what == "api" else _flow_schema()
    json.dump(document, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


def _flow_schema() -> dict[str, Any]:
    from controlplane.spec.schema import flow_schema

    return flow_schema()


def api_schema() -> dict[str, Any]:
    """The OpenAPI document, as checked in at ``openapi.json``."""
    from controlplane.api import create_app

    document: dict[str, Any] = create_app().openapi()
    return document
