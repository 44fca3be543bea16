"""``weir run FLOW.yaml``: run a flow on the embedded engine, showing it live."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape

from controlplane.cli.paths import absolute_path
from controlplane.cli.validate import collect
from controlplane.cli.waiting import next_in_chain, pause_ends_by_itself
from controlplane.engine.model import Execution, State
from controlplane.engine.rules import TransitionRefused
from controlplane.errors import WeirError

if TYPE_CHECKING:
    from controlplane.engine.engine import Engine
    from controlplane.engine.ports import Store

_STYLE = {
    State.SUCCESS: "green",
    State.WARNING: "yellow",
    State.FAILED: "red",
    State.KILLED: "red",
    State.CANCELLED: "red",
    State.SKIPPED: "dim",
    State.PAUSED: "magenta",
    State.RETRYING: "yellow",
}
_LEVEL_STYLE = {"ERROR": "red", "WARN": "yellow", "DEBUG": "dim", "TRACE": "dim"}


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "run",
        help="run a flow on the embedded engine",
        description=(
            "Run a flow on the embedded engine (SQLite under WEIR_HOME, default ./.weir), showing "
            "each task's state and logs live, then the outputs. Exit 0 on SUCCESS or WARNING."
        ),
    )
    parser.add_argument("flow", type=absolute_path, help="the flow's YAML file")
    parser.add_argument(
        "--input",
        "-i",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an input value (repeatable); KEY=@path reads a file for a FILE input",
    )
    parser.add_argument(
        "--flows",
        action="append",
        default=[],
        type=absolute_path,
        metavar="PATH",
        help="other flows to load first, e.g. the subflows this one calls (repeatable)",
    )
    parser.add_argument("--json", action="store_true", help="print the final execution as JSON")
    parser.add_argument("--timeout", type=float, default=None, help="give up after N seconds")
    parser.set_defaults(handler=run)


def parse_inputs(pairs: list[str]) -> dict[str, Any]:
    inputs: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise WeirError(f"--input {pair!r}: expected KEY=VALUE")
        inputs[key] = Path(value[1:]).read_bytes() if value.startswith("@") else value
    return inputs


def run(args: argparse.Namespace) -> int:
    # The engine and the store load here, not at import: `weir validate` stays quick.
    from controlplane.cli.embedded import embedded, save_flow_files
    from controlplane.engine.inputs import InputError

    out = Console(stderr=args.json, highlight=False, soft_wrap=True)
    try:
        inputs = parse_inputs(args.input)
    except (WeirError, OSError) as exc:
        print(f"weir run: {exc}", file=sys.stderr)
        return 2
    companions, missing = collect([str(p) for p in args.flows])
    if missing:
        print(f"weir run: no such file or folder: {', '.join(missing)}", file=sys.stderr)
        return 2
    with embedded() as (store, engine):
        try:
            records = save_flow_files([*companions, args.flow], store)
            target = records[-1]
            execution = engine.create_execution(target.namespace, target.flow_id, inputs)
        except InputError as exc:
            out.print(f"[red]invalid inputs:[/red] {escape(exc.message)}")
            return 1
        except WeirError as exc:
            out.print(f"[red]{escape(exc.message)}[/red]")
            return 1
        out.print(f"[bold]{target.namespace}/{target.flow_id}[/bold] execution {execution.id}")
        try:
            final = follow(engine, store, execution.id, out, args.timeout)
        except KeyboardInterrupt:
            with contextlib.suppress(TransitionRefused):  # it ended meanwhile: nothing to kill
                engine.kill(execution.id)
            final = engine.wait(execution.id, timeout=30)
            out.print("[red]interrupted: the execution was killed[/red]")
        summarize(final, out)
        if args.json:
            json.dump(final.to_dict(), sys.stdout, indent=2, default=str)
            sys.stdout.write("\n")
    return 0 if final.state in (State.SUCCESS, State.WARNING) else 1


def follow(
    engine: Engine, store: Store, execution_id: str, out: Console, timeout: float | None
) -> Execution:
    """Print task state changes and log lines as they happen, until the execution is over."""
    seen_states: dict[str, State] = {}
    last_log = 0
    deadline = None if timeout is None else time.monotonic() + timeout
    stop_at = frozenset({State.PAUSED})
    while True:
        execution = engine.wait(execution_id, timeout=0.1, until=stop_at)
        resumes = execution.state is State.PAUSED and pause_ends_by_itself(store, execution)
        if resumes:
            execution = engine.wait(execution_id, timeout=0.1)
        for run in list(execution.task_runs):
            if seen_states.get(run.id) is not run.state:
                seen_states[run.id] = run.state
                label = run.task_id + (f"[{run.value}]" if run.value is not None else "")
                style = _STYLE.get(run.state, "cyan")
                out.print(f"  [{style}]{run.state.value:<9}[/{style}] {escape(label)}")
        with store.unit() as repos:
            entries = repos.logs.list_logs(execution_id, after=last_log)
        for sequence, entry in entries:
            last_log = sequence
            style = _LEVEL_STYLE.get(entry.level, "")
            where = f"{entry.task_id} " if entry.task_id else ""
            line = f"    {where}{entry.level}: {escape(entry.message)}"
            out.print(f"[{style}]{line}[/{style}]" if style else line)
        over = execution.state.terminal and all(r.state.terminal for r in execution.task_runs)
        retry = next_in_chain(store, execution) if execution.state is State.RETRIED else None
        if retry is not None:
            out.print(f"[yellow]retried as execution {retry.id}[/yellow]")
            execution_id, seen_states, last_log = retry.id, {}, 0
            continue
        if over or (execution.state is State.PAUSED and not resumes):
            return execution
        if deadline is not None and time.monotonic() > deadline:
            out.print("[yellow]timed out waiting; the execution goes on[/yellow]")
            return execution


def summarize(execution: Execution, out: Console) -> None:
    style = _STYLE.get(execution.state, "cyan")
    took = (execution.history[-1].at - execution.history[0].at).total_seconds()
    out.print(
        f"[{style}]{execution.state.value}[/{style}] in {took:.2f} s, "
        f"{len(execution.task_runs)} task runs"
    )
    if execution.state is State.PAUSED:
        out.print(f"paused: resume it through the API (execution {execution.id})")
    for key, value in (execution.outputs or {}).items():
        shown = value if isinstance(value, str) else json.dumps(value, default=str)
        out.print(f"  output [bold]{escape(key)}[/bold] = {escape(str(shown))}")
