"""``weir backfill NAMESPACE FLOW --from ISO [--to ISO]``: replay the slots of a Schedule trigger.

The server's schedulers replay every slot of ``[--from, --to)`` (``--from`` included, ``--to``
excluded; ``--to`` is now when left out) as an execution labelled ``system.backfill: "true"``,
with the ``--label`` labels and the ``--input`` inputs over the trigger's. A time without an
offset is read in the trigger's time zone. A slot that fired already does not fire again.
``--trigger`` may be left out when the flow has one Schedule trigger. With ``--wait``, the
command follows the backfill until it is done.
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

from controlplane.cli.remote import add_server_options, client_from
from controlplane.client import ClientError
from controlplane.errors import WeirError

if TYPE_CHECKING:
    from rich.console import Console

    from controlplane.client import WeirClient
    from controlplane.client.triggers import Backfill, TriggerState

EXIT_ERROR = 1
SCHEDULE = "io.kestra.plugin.core.trigger.Schedule"


class _Refused(WeirError):
    """A one-line reason to stop, for standard error."""


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "backfill",
        help="replay the past slots of a Schedule trigger on a server",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("namespace", metavar="NAMESPACE", help="the flow's namespace")
    parser.add_argument("flow", metavar="FLOW", help="the flow's id")
    parser.add_argument(
        "--from", dest="start", required=True, metavar="ISO",
        help="the first instant replayed, included (2024-05-01T00:00:00Z)",
    )  # fmt: skip
    parser.add_argument(
        "--to", dest="end", metavar="ISO", help="where the replay ends, excluded (default: now)"
    )
    parser.add_argument(
        "--trigger", metavar="ID", help="the Schedule trigger (default: the flow's only one)"
    )
    parser.add_argument(
        "--input", action="append", default=[], metavar="KEY=VALUE",
        help="an input of the replayed executions (repeatable)",
    )  # fmt: skip
    parser.add_argument(
        "--label", action="append", default=[], metavar="KEY=VALUE",
        help="a label of the replayed executions (repeatable)",
    )  # fmt: skip
    parser.add_argument(
        "--wait", action="store_true", help="follow the backfill until every slot is replayed"
    )
    parser.add_argument(
        "--poll", type=float, default=1.0, metavar="SECONDS",
        help="how often --wait asks the server (default: 1)",
    )  # fmt: skip
    add_server_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.markup import escape

    out = Console(highlight=False, soft_wrap=True, markup=False)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        start = _instant(args.start, "--from")
        end = _instant(args.end, "--to") if args.end else None
        inputs = _pairs(args.input, "--input")
        labels = _pairs(args.label, "--label")
        with client_from(args) as client:
            trigger_id = args.trigger or _only_schedule(client, args.namespace, args.flow)
            state = client.triggers.backfill(
                args.namespace, args.flow, trigger_id, start, end, inputs, labels
            )
            backfill = _backfill_of(state)
            out.print(_describe(state, backfill))
            if not args.wait:
                return 0
            final = _follow(client, state, max(args.poll, 0.05), err)
    except (_Refused, ClientError) as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}")
        return EXIT_ERROR
    out.print(f"Backfill done: {final.handled} slots replayed, {final.created} executions created.")
    return 0


def _instant(text: str, option: str) -> datetime:
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        raise _Refused(
            f"{option} {text!r} is not an ISO 8601 date-time such as 2024-05-01T00:00:00Z"
        ) from None


def _pairs(pairs: list[str], option: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise _Refused(f"{option} {pair!r}: expected KEY=VALUE")
        found[key] = value
    return found


def _only_schedule(client: WeirClient, namespace: str, flow_id: str) -> str:
    import yaml

    from controlplane.spec.registry import modernise

    source = client.flows.get(namespace, flow_id).source
    document = yaml.safe_load(source)
    triggers = document.get("triggers") if isinstance(document, dict) else None
    ids = [
        str(t.get("id"))
        for t in triggers or []
        if isinstance(t, dict) and modernise(str(t.get("type"))) == SCHEDULE
    ]
    if len(ids) == 1:
        return ids[0]
    if not ids:
        raise _Refused(f"flow {namespace}/{flow_id} has no Schedule trigger to backfill")
    raise _Refused(
        f"flow {namespace}/{flow_id} has {len(ids)} Schedule triggers ({', '.join(ids)}); "
        "name one with --trigger"
    )


def _backfill_of(state: TriggerState) -> Backfill:
    if state.backfill is None:
        raise _Refused(
            f"the backfill of trigger {state.trigger_id} of flow "
            f"{state.namespace}/{state.flow_id} is gone: it was cancelled"
        )
    return state.backfill


def _describe(state: TriggerState, backfill: Backfill) -> str:
    slots = f"{backfill.total} slots" if backfill.total is not None else "over 10,000 slots"
    return (
        f"Backfill of trigger {state.trigger_id} of flow {state.namespace}/{state.flow_id}: "
        f"{slots} from {backfill.start.isoformat()} (included) to {backfill.end.isoformat()} "
        "(excluded)."
    )


def _follow(client: WeirClient, state: TriggerState, poll: float, err: Console) -> Backfill:
    """Poll the trigger until its backfill is done, showing the progress on standard error."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    backfill = _backfill_of(state)
    span = (backfill.end - backfill.start).total_seconds()
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=err,
        transient=not err.is_terminal,
    ) as progress:
        task = progress.add_task(f"backfill {state.trigger_id}", total=backfill.total or span)
        while True:
            done = backfill.handled if backfill.total is not None else _elapsed(backfill)
            progress.update(task, completed=done)
            if backfill.done:
                return backfill
            time.sleep(poll)
            latest = client.triggers.get(state.namespace, state.flow_id, state.trigger_id)
            backfill = _backfill_of(latest)
            if backfill.id != _backfill_of(state).id:
                raise _Refused("the backfill was replaced by another one; stopped following it")


def _elapsed(backfill: Backfill) -> float:
    return (min(backfill.cursor, backfill.end) - backfill.start).total_seconds()
