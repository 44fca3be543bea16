"""The ``weir`` command: one subcommand per module of this package.

Only the module of the command being run is imported: ``weir --help`` lists the others from
:data:`COMMANDS`, so a command does not pay for what the others import.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys
from collections.abc import Sequence

from controlplane import __version__

EXIT_USAGE = 2

COMMANDS: dict[str, str] = {
    "validate": "validate flow files and folders",
    "run": "run a flow on the embedded engine",
    "execution": "start, show and list executions on a server",
    "logs": "print an execution's logs from a server, or follow them",
    "server": "run Weir as a server",
    "token": "create, list or revoke API tokens",
    "secret": "seal secrets for a Git repository",
    "gitops": "plan and apply a desired-state Git repository",
    "demo": "run the example data pipeline against a dataset served locally",
    "schema": "print the JSON Schema of the flow language, or the API's OpenAPI document",
    "terraform": "install Weir's Terraform provider",
    "backfill": "replay the past slots of a Schedule trigger on a server",
}
"""Every command, in the order ``weir --help`` lists them, with its help line; each is the
module ``controlplane.cli.<name>`` whose ``add_parser`` defines it (a test keeps both equal)."""


def build_parser(only: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or only of the commands in ``only`` (the rest by name)."""
    parser = argparse.ArgumentParser(
        prog="weir",
        description="Weir: a declarative workflow orchestrator that runs Kestra flows.",
    )
    parser.add_argument("--version", action="version", version=f"weir {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, help_line in COMMANDS.items():
        if only is None or name in only:
            importlib.import_module(f"controlplane.cli.{name}").add_parser(commands)
        else:
            commands.add_parser(name, help=help_line)
    return parser


def _command_of(argv: Sequence[str]) -> list[str]:
    """The command named on the line (the first word that is not an option), if it is one."""
    first = next((word for word in argv if not word.startswith("-")), None)
    return [first] if first in COMMANDS else []


def main(argv: Sequence[str] | None = None) -> int:
    # Pydantic looks for plugins of its own among the entry points of every installed package
    # when it builds its first model: tens of milliseconds of each command for none that Weir
    # uses. Setting the variable (even empty) keeps a user's choice.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    words = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(only=_command_of(words))
    args = parser.parse_args(words)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        code: int = args.handler(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    if argv is None:
        # The command line is the process's own, which ends with the command. The
        # interpreter's last garbage collection would walk every object the command built
        # (models, schemas, tables: a fifth of a short command's time) to find them all still
        # referenced; frozen, they are left to the exit. Callers passing argv are unaffected.
        gc.freeze()
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
