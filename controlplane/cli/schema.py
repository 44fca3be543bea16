"""``weir schema flow``: print the JSON Schema of the flow language."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "schema",
        help="print the JSON Schema of the flow language (for editors)",
        description="Print the JSON Schema yaml-language-server uses to complete and check flows.",
    )
    parser.add_argument("what", choices=["flow"], help="which schema to print")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from controlplane.spec.schema import flow_schema

    json.dump(flow_schema(), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0
