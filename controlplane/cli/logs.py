"""``weir logs ID``: an execution's log lines, read from a running server.

``--follow`` keeps printing lines as they are written until the execution has ended (the stream
resumes after a broken connection without losing or repeating a line). ``--task`` keeps the
lines of one task, ``--level`` those of a level and above. ``--json`` prints one JSON object per
line. The server is ``--server`` or ``$WEIR_URL`` (default http://127.0.0.1:8080), signed in
with ``--token`` or ``$WEIR_TOKEN``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from controlplane.cli.remote import add_server_options, client_from, explain, fail
from controlplane.client import ClientError

if TYPE_CHECKING:
    from controlplane.client.models import LogLine

LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR")
COMMAND = "logs"


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        COMMAND,
        help="print an execution's logs from a server, or follow them",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("id", metavar="ID", help="the execution's id")
    parser.add_argument(
        "--follow", "-f", action="store_true", help="keep printing lines until the execution ends"
    )
    parser.add_argument("--task", metavar="TASK_ID", help="only the lines of this task")
    parser.add_argument(
        "--level",
        type=str.upper,
        choices=LEVELS,
        help="only lines of this level and above (TRACE, DEBUG, INFO, WARN, ERROR)",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    add_server_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        client = client_from(args)
    except ValueError as exc:
        return fail(COMMAND, str(exc))
    with client:
        try:
            if args.follow:
                lines: Iterable[LogLine] = client.executions.follow_logs(
                    args.id, min_level=args.level
                )
            else:
                lines = client.executions.logs(args.id, min_level=args.level)
            for line in lines:
                if args.task is None or line.task_id == args.task:
                    print(_json(line) if args.json else _text(line), flush=args.follow)
            if args.follow:
                ended = client.executions.get(args.id)
                print(f"execution {ended.id} ended {ended.state}", file=sys.stderr)
        except ClientError as exc:
            return fail(COMMAND, explain(exc, client.url))
    return 0


def _text(line: LogLine) -> str:
    at = line.at.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] if line.at else ""
    where = f"{line.task_id}: " if line.task_id else ""
    return f"{at} {line.level:<5} {where}{line.message}"


def _json(line: LogLine) -> str:
    return json.dumps(
        {
            "seq": line.seq,
            "at": line.at.isoformat() if line.at else None,
            "level": line.level,
            "taskId": line.task_id,
            "taskRunId": line.task_run_id,
            "attempt": line.attempt,
            "message": line.message,
        }
    )
