"""``weir token create|list|revoke``: the API tokens of the server whose store this is.

Run where the server's store is reachable (its ``WEIR_HOME``, or ``WEIR_DATABASE_URL`` and
``WEIR_SECRET_KEY``). The secret of a new token is printed once; only its hash is kept.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from datetime import timedelta
from typing import Any

from rich.console import Console
from rich.table import Table

EXIT_NOT_FOUND = 1
EXIT_USAGE = 2
_DURATION = re.compile(r"^(\d+)([dhm])$")


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "token", help="create, list or revoke API tokens", description=__doc__
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="create a token and print it once")
    create.add_argument("name", help="a name to recognise the token by, unique")
    create.add_argument("--scope", choices=["read", "write", "admin"], default="read")
    create.add_argument(
        "--namespace",
        action="append",
        default=[],
        metavar="PREFIX",
        help="limit the token to this namespace and those below it (repeatable)",
    )
    create.add_argument(
        "--expires-in", type=_duration, metavar="N[d|h|m]", help="e.g. 90d, 12h; none by default"
    )
    actions.add_parser("list", help="list tokens (never their secrets)")
    revoke = actions.add_parser("revoke", help="revoke a token by id or name")
    revoke.add_argument("token", help="the token's id or name")
    parser.set_defaults(handler=run)


def _duration(text: str) -> timedelta:
    match = _DURATION.match(text)
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration such as 90d, 12h or 30m")
    unit = {"d": "days", "h": "hours", "m": "minutes"}[match.group(2)]
    return timedelta(**{unit: int(match.group(1))})


def run(args: argparse.Namespace) -> int:
    from controlplane.api.auth import issue_token
    from controlplane.engine.model import now
    from controlplane.store import StoreSettings, open_store

    # Piped output keeps whole rows, so scripts can read them.
    console = Console() if sys.stdout.isatty() else Console(width=200)
    store = open_store(StoreSettings.from_env(os.environ))
    try:
        if args.action == "create":
            with store.unit() as repos:
                taken = any(t.name == args.name for t in repos.tokens.list_tokens())
            if taken:
                console.print(f"A token named {args.name!r} exists; pick another name", style="red")
                return EXIT_USAGE
            expires = now() + args.expires_in if args.expires_in else None
            record, secret = issue_token(store, args.name, args.scope, args.namespace, expires)
            console.print(
                f"Created token [bold]{record.name}[/] ({record.id}), scope {record.scope}"
            )
            console.print("Its secret is shown only now:", style="yellow")
            print(secret)
            return 0
        with store.unit() as repos:
            tokens = repos.tokens.list_tokens()
            if args.action == "list":
                console.print(_table(tokens))
                return 0
            found = [t for t in tokens if args.token in (t.id, t.name) and not t.revoked]
            if not found:
                console.print(f"No live token has the id or name {args.token!r}", style="red")
                return EXIT_NOT_FOUND
            repos.tokens.revoke_token(found[0].id)
        console.print(f"Revoked token {found[0].name} ({found[0].id})")
        return 0
    finally:
        store.close()


def _table(tokens: list[Any]) -> Table:
    table = Table("id", "name", "scope", "namespaces", "created", "expires", "state")
    for t in tokens:
        table.add_row(
            t.id,
            t.name,
            t.scope,
            ", ".join(t.namespaces) or "all",
            t.created.strftime("%Y-%m-%d %H:%M"),
            t.expires.strftime("%Y-%m-%d %H:%M") if t.expires else "never",
            "revoked" if t.revoked else "live",
        )
    return table
