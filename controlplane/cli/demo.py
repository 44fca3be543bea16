"""``weir demo``: a real pipeline end to end, on the embedded engine or on a running server.

Serves a generated orders dataset over HTTP on 127.0.0.1, then runs the example pipeline
(download, transform with Python, aggregate) against it and prints what it found. With
``--server URL`` the pipeline runs on that server (started with ``--load flows/``, on this
machine so that it reaches the dataset), its logs and result read back through the API.
"""

from __future__ import annotations

import argparse
import json
import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from rich.console import Console

from controlplane.cli.paths import absolute_path
from controlplane.cli.run import follow, summarize
from controlplane.cli.validate import collect
from controlplane.engine.model import State

NAMESPACE = "company.team"
PIPELINE = "orders_pipeline"
EXAMPLES = Path(__file__).parent.parent / "flows" / "examples"
CATEGORIES = ("books", "games", "garden", "kitchen", "music", "sports")
STATUSES = ("completed", "completed", "completed", "cancelled", "refunded")


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "demo",
        help="run the example data pipeline against a dataset served locally",
        description=__doc__,
    )
    parser.add_argument(
        "--flows",
        type=absolute_path,
        default=EXAMPLES,
        help="the example flows' folder (default: the ones installed with Weir)",
    )
    parser.add_argument("--orders", type=int, default=2000, help="how many orders to generate")
    parser.add_argument(
        "--server",
        metavar="URL",
        default=None,
        const="",
        nargs="?",
        help="run on this server instead (no URL: $WEIR_URL, else http://127.0.0.1:8080)",
    )
    parser.add_argument("--token", default=None, help="an API token (default: $WEIR_TOKEN)")
    parser.set_defaults(handler=run)


def orders(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """A deterministic dataset of orders."""
    draw = random.Random(seed)
    return [
        {
            "id": index + 1,
            "category": draw.choice(CATEGORIES),
            "status": draw.choice(STATUSES),
            "total": round(draw.uniform(3, 250), 2),
        }
        for index in range(count)
    ]


@contextmanager
def serve(payload: bytes) -> Iterator[str]:
    """Serve ``payload`` as /orders.json on a free port of 127.0.0.1."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/orders.json":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the pipeline's own logs say what happened

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/orders.json"
    finally:
        server.shutdown()
        server.server_close()


def run(args: argparse.Namespace) -> int:
    if args.server is not None:
        return on_server(args)
    from controlplane.cli.embedded import embedded, save_flow_files

    out = Console(highlight=False, soft_wrap=True)
    files, missing = collect([str(args.flows)])
    if missing or not files:
        out.print(f"[red]no example flows in {args.flows}[/red]")
        return 2
    payload = json.dumps(orders(args.orders)).encode()
    with serve(payload) as url, embedded() as (store, engine):
        records = save_flow_files(files, store)
        out.print(f"loaded {len(records)} example flows; serving {args.orders} orders at {url}")
        pipeline = next(r for r in records if r.flow_id == PIPELINE)
        execution = engine.create_execution(
            pipeline.namespace, pipeline.flow_id, {"dataset_url": url, "min_total": "10"}
        )
        out.print(f"[bold]{pipeline.namespace}/{PIPELINE}[/bold] execution {execution.id}")
        final = follow(engine, store, execution.id, out, timeout=300)
        summarize(final, out)
    return 0 if final.state in (State.SUCCESS, State.WARNING) else 1


def on_server(args: argparse.Namespace) -> int:
    """Run the pipeline on a server: its log lines as they come, then the execution as stored."""
    from controlplane.cli.remote import client_from, explain, fail
    from controlplane.cli.showing import Secrets, execution_lines
    from controlplane.client import ClientError, NotFound

    args.server = args.server or None
    payload = json.dumps(orders(args.orders)).encode()
    with serve(payload) as url, client_from(args) as client:
        try:
            started = client.executions.create(
                NAMESPACE, PIPELINE, {"dataset_url": url, "min_total": "10"}
            )
            print(f"{NAMESPACE}/{PIPELINE} execution {started.id} on {client.url}")
            for line in client.executions.follow_logs(started.id):
                print(f"  {line.task_id or '-'} {line.level}: {line.message}")
            final = client.executions.get(started.id)
        except NotFound:
            return fail(
                "demo",
                f"{NAMESPACE}/{PIPELINE} is not on the server at {client.url}: start it with "
                "`weir server standalone --load flows/` from Weir's folder",
            )
        except ClientError as error:
            return fail("demo", explain(error, client.url))
        for text in execution_lines(final, Secrets(client).masked(final)):
            print(text)
    print(f"read it again with: weir execution show {final.id}; weir logs {final.id}")
    return 0 if final.state in (State.SUCCESS.value, State.WARNING.value) else 1
