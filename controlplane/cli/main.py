"""The ``weir`` command: one subcommand per module of this package."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from controlplane import __version__
from controlplane.cli import (
    backfill,
    demo,
    execution,
    gitops,
    logs,
    run,
    schema,
    secret,
    server,
    terraform,
    token,
    validate,
)

EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="weir",
        description="Weir: a declarative workflow orchestrator that runs Kestra flows.",
    )
    parser.add_argument("--version", action="version", version=f"weir {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in (
        validate, run, execution, logs, server, token, secret, gitops, demo, schema, terraform,
        backfill,
    ):  # fmt: skip
        module.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        code: int = args.handler(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
