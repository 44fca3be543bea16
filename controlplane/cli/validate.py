"""``weir validate PATH...``: check flow files, report every problem where it is."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from controlplane.cli.remote import explain, fail
from controlplane.client.errors import ClientError
from controlplane.spec.problems import Problem, Severity
from controlplane.spec.validate import Validated, validate_file, validate_set

FLOW_SUFFIXES = (".yml", ".yaml")


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "validate",
        help="validate flow files and folders",
        description=(
            "Validate flows (*.yml, *.yaml; folders recursively). Exit 0 when all are valid, "
            "1 when any is invalid, 2 on a usage error."
        ),
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="flow files or folders")
    parser.add_argument(
        "--format",
        choices=["text", "json", "github"],
        default="text",
        help="github prints workflow commands that annotate pull-request lines",
    )
    parser.add_argument(
        "--owns",
        action="append",
        default=[],
        metavar="NAMESPACE",
        help="a namespace these files declare completely, with the namespaces below it, as "
        "weir.yaml's namespaces: references to flows of it that are missing are errors, not "
        "warnings (repeatable)",
    )
    parser.add_argument(
        "--server",
        nargs="?",
        const="",
        default=None,
        metavar="URL",
        help="check subflow contracts against the server too: its callers of these flows and "
        "the flows these call (URL default: $WEIR_URL, else http://127.0.0.1:8080; token: "
        "$WEIR_TOKEN)",
    )
    parser.set_defaults(handler=run)


def collect(paths: list[str]) -> tuple[list[Path], list[str]]:
    """Flow files under ``paths`` in a stable order, and the paths that do not exist."""
    files: list[Path] = []
    missing: list[str] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found = (
                p
                for p in path.rglob("*")
                if p.suffix in FLOW_SUFFIXES
                and p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            files.extend(sorted(found))
        elif path.is_file():
            files.append(path)
        else:
            missing.append(name)
    return list(dict.fromkeys(files)), missing


def run(args: argparse.Namespace) -> int:
    files, missing = collect(args.paths)
    if missing:
        for name in missing:
            print(f"weir validate: no such file or folder: {name}", file=sys.stderr)
        return 2
    if not files:
        print("weir validate: no *.yml or *.yaml files under the given paths", file=sys.stderr)
        return 2
    results = [validate_file(path) for path in files]
    set_problems = validate_set(results, owned=args.owns)
    try:
        set_problems += _contracts(results, args.server)
    except ClientError as error:
        return fail("validate", explain(error, args.server or "$WEIR_URL"))
    by_file: dict[str, list[Problem]] = {r.file: list(r.problems) for r in results}
    for problem in set_problems:
        by_file.setdefault(problem.location.file, []).append(problem)
    invalid = sum(1 for r in results if _has_error(by_file[r.file]) or r.flow is None)
    emit = {"text": _text, "json": _json, "github": _github}[args.format]
    emit(results, by_file, invalid)
    return 1 if invalid else 0


def _contracts(results: list[Validated], server: str | None) -> list[Problem]:
    from controlplane.cli.flowcontracts import contract_problems

    if server is None:
        return contract_problems(results, None)
    from controlplane.client import WeirClient

    with WeirClient(server or None, os.environ.get("WEIR_TOKEN")) as client:
        return contract_problems(results, client)


def _has_error(problems: list[Problem]) -> bool:
    return any(p.severity is Severity.ERROR for p in problems)


def _text(results: list[Validated], by_file: dict[str, list[Problem]], invalid: int) -> None:
    out = sys.stdout
    warnings = 0
    for result in results:
        for problem in by_file[result.file]:
            warnings += problem.severity is Severity.WARNING
            out.write(f"{problem}\n")
    valid = len(results) - invalid
    summary = (
        f"{len(results)} flow file{'s' * (len(results) != 1)}: {valid} valid, {invalid} invalid"
    )
    if warnings:
        summary += f", {warnings} warning{'s' * (warnings != 1)}"
    out.write(summary + "\n")


def _json(results: list[Validated], by_file: dict[str, list[Problem]], invalid: int) -> None:
    document = {
        "valid": invalid == 0,
        "files": [
            {
                "file": r.file,
                "flow": r.ref,
                "valid": r.flow is not None and not _has_error(by_file[r.file]),
                "problems": [p.as_dict() for p in by_file[r.file]],
            }
            for r in results
        ],
        "summary": {"files": len(results), "valid": len(results) - invalid, "invalid": invalid},
    }
    json.dump(document, sys.stdout, indent=2)
    sys.stdout.write("\n")


def _github(results: list[Validated], by_file: dict[str, list[Problem]], invalid: int) -> None:
    """GitHub Actions workflow commands: one annotation per problem, on its line."""
    from controlplane.gitops.github import annotation

    for result in results:
        for problem in by_file[result.file]:
            level = "error" if problem.severity is Severity.ERROR else "warning"
            where = problem.location
            title = f"weir validate: {problem.path}" if problem.path else "weir validate"
            line = annotation(level, where.file, where.line, where.column, title, problem.message)
            sys.stdout.write(line + "\n")
    sys.stdout.write(
        f"{len(results)} flow files: {len(results) - invalid} valid, {invalid} invalid\n"
    )
