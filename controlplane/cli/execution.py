"""``weir execution start|show|list``: executions on a running server, through its API.

``start NAMESPACE FLOW`` starts the flow's latest revision (``--input KEY=VALUE``, ``KEY=@path``
for a FILE input); with ``--wait`` it waits for the end and shows the result, and exits 1
unless the execution ended in SUCCESS or WARNING. ``show ID`` prints an execution's state, its
task runs with their states and durations, its inputs and outputs. ``list`` prints the latest
executions, newest first, filtered by ``--namespace`` (and those below it), ``--flow`` and
``--state``. ``--json`` prints what the server answered instead. The values of SECRET inputs
are never shown. The server is ``--server`` or ``$WEIR_URL`` (default http://127.0.0.1:8080),
signed in with ``--token`` or ``$WEIR_TOKEN``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from controlplane.cli.remote import add_server_options, client_from, explain, fail
from controlplane.cli.showing import ROW_HEADER, Secrets, execution_lines, execution_row
from controlplane.client import ClientError
from controlplane.errors import WeirError

if TYPE_CHECKING:
    from controlplane.client import WeirClient
    from controlplane.client.models import Execution

STATES = (
    "CREATED", "QUEUED", "RUNNING", "PAUSED", "RESTARTED", "KILLING", "SUCCESS", "WARNING",
    "FAILED", "KILLED", "CANCELLED", "RETRYING", "RETRIED", "SKIPPED",
)  # fmt: skip
ENDED_WELL = ("SUCCESS", "WARNING")
COMMAND = "execution"


class _Refused(WeirError):
    """A one-line reason to stop, for standard error."""


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        COMMAND,
        help="start, show and list executions on a server",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    start = actions.add_parser("start", help="start a flow's latest revision")
    start.add_argument("namespace", metavar="NAMESPACE", help="the flow's namespace")
    start.add_argument("flow", metavar="FLOW", help="the flow's id")
    start.add_argument(
        "--input", "-i", action="append", default=[], metavar="KEY=VALUE",
        help="an input value (repeatable); KEY=@path sends a file for a FILE input",
    )  # fmt: skip
    start.add_argument(
        "--label", action="append", default=[], metavar="KEY=VALUE",
        help="a label of the execution (repeatable)",
    )  # fmt: skip
    start.add_argument("--wait", action="store_true", help="wait for the end and show the result")
    start.add_argument(
        "--timeout", type=float, default=600.0, metavar="SECONDS",
        help="how long --wait waits (default: 600)",
    )  # fmt: skip
    show = actions.add_parser("show", help="an execution's state, task runs, inputs, outputs")
    show.add_argument("id", metavar="ID", help="the execution's id")
    listing = actions.add_parser("list", help="the latest executions, newest first")
    listing.add_argument("--namespace", help="this namespace and those below it")
    listing.add_argument("--flow", metavar="FLOW_ID", help="only the executions of this flow")
    listing.add_argument("--state", choices=STATES, metavar="STATE", help="only in this state")
    listing.add_argument(
        "--limit", type=int, default=20, metavar="N", help="at most N executions (default: 20)"
    )
    for action in (start, show, listing):
        action.add_argument("--json", action="store_true", help="print the server's JSON")
        add_server_options(action)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        with client_from(args) as client:
            try:
                if args.action == "start":
                    return _start(client, args)
                if args.action == "show":
                    return _show(client, args)
                return _list(client, args)
            except ClientError as exc:
                return fail(COMMAND, explain(exc, client.url))
    except (_Refused, ValueError, OSError) as exc:
        return fail(COMMAND, str(exc))


def _start(client: WeirClient, args: argparse.Namespace) -> int:
    inputs, files = _inputs(args.input)
    labels = dict(_pair(pair, "--label") for pair in args.label)
    started = client.executions.create(args.namespace, args.flow, inputs, labels, files)
    if not args.wait:
        _print(started, args.json, Secrets(client))
        return 0
    print(f"execution {started.id} of {args.namespace}/{args.flow} started", file=sys.stderr)
    try:
        final = client.executions.wait(started.id, timeout=args.timeout)
    except TimeoutError as exc:
        raise _Refused(f"{exc}; follow it with: weir execution show {started.id}") from None
    _print(final, args.json, Secrets(client))
    return 0 if final.state in ENDED_WELL else 1


def _show(client: WeirClient, args: argparse.Namespace) -> int:
    _print(client.executions.get(args.id), args.json, Secrets(client))
    return 0


def _list(client: WeirClient, args: argparse.Namespace) -> int:
    if args.limit < 1:
        raise _Refused(f"--limit {args.limit}: give a number of executions, 1 or more")
    page = client.executions.search(args.namespace, args.flow, args.state, size=args.limit)
    secrets = Secrets(client)
    if args.json:
        json.dump([secrets.masked(e) for e in page.results], sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(*ROW_HEADER, box=None, pad_edge=False)
    for execution in page.results:
        table.add_row(*execution_row(execution))
    console = Console(highlight=False) if sys.stdout.isatty() else Console(width=200)
    console.print(table)
    if page.total > len(page.results):
        print(
            f"{len(page.results)} of {page.total} executions; --limit N shows more",
            file=sys.stderr,
        )
    return 0


def _print(execution: Execution, as_json: bool, secrets: Secrets) -> None:
    document = secrets.masked(execution)
    if as_json:
        json.dump(document, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    for line in execution_lines(execution, document):
        print(line)


def _inputs(pairs: list[str]) -> tuple[dict[str, str], dict[str, Path]]:
    inputs: dict[str, str] = {}
    files: dict[str, Path] = {}
    for pair in pairs:
        key, value = _pair(pair, "--input")
        if value.startswith("@"):
            path = Path(value[1:])
            if not path.is_file():
                raise _Refused(f"--input {key}=@{path}: no such file")
            files[key] = path
        else:
            inputs[key] = value
    return inputs, files


def _pair(pair: str, option: str) -> tuple[str, str]:
    key, sep, value = pair.partition("=")
    if not sep or not key:
        raise _Refused(f"{option} {pair!r}: expected KEY=VALUE")
    return key, value
