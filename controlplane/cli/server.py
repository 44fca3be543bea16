"""``weir server standalone|api|executor|scheduler|worker``: run Weir as a server.

``standalone`` runs the API, the executor, its workers and the schedulers in one process on the
embedded default (SQLite under ``WEIR_HOME``). The other roles run one part each, as many
processes of each as needed, sharing PostgreSQL (``WEIR_DATABASE_URL``, ``WEIR_SECRET_KEY``) and
the storage folder (``WEIR_HOME``): ``api`` serves HTTP and records commands; ``executor``
advances the executions it holds a lease on and queues their tasks; ``worker`` claims queued
tasks (of its ``--worker-group``) and runs ``--concurrency`` at once; ``scheduler`` fires
Schedule and Flow triggers and evaluates polling triggers (S3, GCS, SQS, PostgreSQL). A process
that dies lets its leases lapse and another takes over.
SIGTERM (or Ctrl-C) stops taking work and lets running tasks finish within ``--grace`` seconds
before they are stopped.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import os
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rich.console import Console

from controlplane.cli.paths import absolute_path
from controlplane.cli.validate import collect

EXIT_USAGE = 2
ROLES = ("standalone", "api", "executor", "scheduler", "worker")
SHARED = ("api", "executor", "scheduler", "worker")


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("server", help="run Weir as a server", description=__doc__)
    parser.add_argument("role", nargs="?", choices=ROLES, default="standalone")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument(
        "--auth",
        choices=["tokens", "none"],
        help="require bearer tokens; by default only off a loopback address",
    )
    parser.add_argument(
        "--allow-unauthenticated",
        action="store_true",
        help="accept --auth none on a non-loopback address (anyone who reaches it may do anything)",
    )
    parser.add_argument(
        "--load",
        action="append",
        default=[],
        type=absolute_path,
        metavar="PATH",
        help="flow files or folders to save before serving (repeatable)",
    )
    parser.add_argument(
        "--concurrency",
        "--workers",
        dest="workers",
        type=int,
        default=8,
        help="task attempts run at once (standalone, worker)",
    )
    parser.add_argument(
        "--worker-group",
        metavar="KEY",
        help="worker: run only tasks whose workerGroup.key is KEY (default: tasks without one)",
    )
    parser.add_argument(
        "--lease",
        type=float,
        default=20.0,
        metavar="SECONDS",
        help="executor, worker: how long work stays this process's without a renewal; after "
        "that another process takes it over",
    )
    parser.add_argument(
        "--grace", type=float, default=30.0, help="seconds running tasks get to finish on stop"
    )
    parser.add_argument(
        "--unsafe-no-sandbox",
        action="store_true",
        help="run task processes unconfined, as the server's user, with a view of WEIR_HOME, the "
        "key and the database (also WEIR_SANDBOX=off); only where every flow author is trusted",
    )
    parser.set_defaults(handler=run)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run(args: argparse.Namespace) -> int:
    from controlplane.api import ApiSettings
    from controlplane.store import StoreSettings

    console = Console(stderr=True, soft_wrap=True)
    store = StoreSettings.from_env(os.environ)
    if args.role in SHARED and store.embedded:
        console.print(
            f"'weir server {args.role}' shares its database with the other parts: set "
            "WEIR_DATABASE_URL (PostgreSQL) and WEIR_SECRET_KEY, or run 'weir server standalone'.",
            style="red",
        )
        return EXIT_USAGE
    require_tokens = (args.auth or ("none" if is_loopback(args.host) else "tokens")) == "tokens"
    if not require_tokens and not is_loopback(args.host) and not args.allow_unauthenticated:
        console.print(
            f"Refusing to serve {args.host} without tokens: anyone who reaches it could run "
            "anything. Use --auth tokens (create one with 'weir token create'), listen on "
            "127.0.0.1, or add --allow-unauthenticated if that is really meant.",
            style="red",
        )
        return EXIT_USAGE
    settings = ApiSettings(
        store=store,
        require_tokens=require_tokens,
        role="api" if args.role == "api" else "standalone",
        worker_threads=args.workers,
        grace_seconds=args.grace,
        sandbox=_sandbox(args, console),
    )
    if args.load and not _load(args.load, settings, console):
        return 1
    if args.role in ("executor", "scheduler", "worker"):
        return _part(args, settings, console)
    return _serve(settings, args.host, args.port, console)


def _sandbox(args: argparse.Namespace, console: Console) -> Any:
    """The sandbox settings from WEIR_SANDBOX* and the flag; says loudly when it is off or
    cannot start (task processes then fail, naming the opt-out)."""
    import dataclasses

    from controlplane.engine.sandbox import SandboxSettings, check

    sandbox = SandboxSettings.from_env(os.environ)
    if args.unsafe_no_sandbox:
        sandbox = dataclasses.replace(sandbox, enabled=False)
    if args.role in ("standalone", "worker"):
        problem = check(sandbox)
        if problem is not None:
            console.print(f"WARNING: {problem}", style="bold red")
    return sandbox


def _load(paths: list[Path], settings: Any, console: Console) -> bool:
    """Validate every flow under ``paths`` and save them (a new revision only when changed)."""
    from controlplane.cli.embedded import save_flow_files
    from controlplane.spec.problems import FlowInvalid
    from controlplane.store import open_store

    files, missing = collect([str(path) for path in paths])
    if missing:
        console.print(f"Not serving: no such file or folder: {', '.join(missing)}", style="red")
        return False
    store = open_store(settings.store)
    try:
        records = save_flow_files(files, store)
    except FlowInvalid as invalid:
        console.print(f"Not serving: {invalid}", style="red")
        return False
    finally:
        store.close()
    console.print(f"Loaded {len(records)} flows from {', '.join(map(str, paths))}")
    return True


def _serve(settings: Any, host: str, port: int, console: Console) -> int:
    import uvicorn

    from controlplane.api import create_app

    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        timeout_graceful_shutdown=max(1, int(settings.grace_seconds)),
    )

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            # Stop gracefully on SIGTERM and Ctrl-C and exit 0, rather than re-raising the
            # signal once stopped as uvicorn does.
            previous = {
                signum: signal.signal(signum, self.handle_exit)
                for signum in (signal.SIGINT, signal.SIGTERM)
            }
            try:
                yield
            finally:
                for signum, handler in previous.items():
                    signal.signal(signum, handler)

        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets)
            if self.started:
                bound_host, bound_port = self.servers[0].sockets[0].getsockname()[:2]
                shown = f"[{bound_host}]" if ":" in bound_host else bound_host
                where = f"http://{shown}:{bound_port}"
                auth = "bearer tokens required" if settings.require_tokens else "no token needed"
                console.print(
                    f"Weir {settings.role} serving on {where}  (API {where}/api/v1, docs "
                    f"{where}/api/v1/docs; {auth}). Stop with Ctrl-C.",
                    style="green",
                    soft_wrap=True,
                )

    server = Server(config)
    server.run()
    return 0 if server.started else 1


def _part(args: argparse.Namespace, settings: Any, console: Console) -> int:
    """Run one part apart from the API until SIGTERM or Ctrl-C; wait while the database is
    not up yet."""
    from controlplane.engine.ports import StoreUnavailable

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    while not stop.is_set():
        part, what = _open_part(args, settings)
        try:
            with part:
                console.print(f"Weir {what} running; stop with Ctrl-C.", style="green")
                stop.wait()
                console.print(f"Stopping: running tasks get {settings.grace_seconds:g}s to finish")
        except StoreUnavailable as exc:
            console.print(f"{exc}; trying again in 2s", style="yellow")
            stop.wait(2.0)
    sys.stdout.flush()
    return 0


def _open_part(args: argparse.Namespace, settings: Any) -> tuple[Any, str]:
    from datetime import timedelta

    from controlplane.api import runtime

    lease = timedelta(seconds=args.lease)
    if args.role == "executor":
        return runtime.open_executor(settings, lease), "executor"
    if args.role == "worker":
        group = f" of worker group {args.worker_group}" if args.worker_group else ""
        what = f"worker{group} ({settings.worker_threads} at once)"
        return runtime.open_worker(settings, lease, args.worker_group), what
    return runtime.open_scheduler(settings), "scheduler"
