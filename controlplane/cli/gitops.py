"""``weir gitops plan|apply|status``: a desired-state repository against a Weir server.

Exit codes: ``plan`` 0 nothing to change, 1 changes, 2 errors (with ``--github``: 0 unless
errors, the changes being in the comment); ``apply`` 0 ready, 1 not ready, 2 usage or invalid
source; ``status`` 0 in sync, 1 drift or the last reconcile not ready.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from controlplane.cli.paths import absolute_path, local_or_url
from controlplane.cli.remote import add_server_options, client_from

EXIT_CHANGES = 1
EXIT_ERRORS = 2


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "gitops", help="plan and apply a desired-state Git repository", description=__doc__
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    plan = actions.add_parser("plan", help="show what an apply would change")
    _source_options(plan)
    plan.add_argument("--prune", action="store_true", default=None, help="plan the prune too")
    plan.add_argument(
        "--github",
        action="store_true",
        help="in GitHub Actions: annotate the files, post the plan as one pull-request comment "
        "updated in place, and set a commit status",
    )
    plan.set_defaults(handler=run_plan)
    apply = actions.add_parser("apply", help="apply the source to the server")
    _source_options(apply)
    apply.add_argument(
        "--prune",
        action="store_true",
        default=None,
        help="delete what this source manages and no longer declares (default: weir.yaml prune)",
    )
    apply.add_argument("--dry-run", action="store_true", help="plan and report; write nothing")
    apply.set_defaults(handler=run_apply)
    status = actions.add_parser("status", help="the last reconcile, and drift since")
    status.add_argument(
        "--source", type=absolute_path, help="the source whose weir.yaml names it (a directory)"
    )
    status.add_argument("--name", help="the source's name, instead of --source")
    status.add_argument("--format", choices=["text", "json"], default="text")
    add_server_options(status)
    status.set_defaults(handler=run_status)


def _source_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--source", required=True, type=local_or_url, help="a directory, or a git URL"
    )
    parser.add_argument("--ref", help="the branch, tag or commit to fetch (a git URL's HEAD)")
    parser.add_argument("--path", default="", help="the desired state's directory in the source")
    parser.add_argument("--env", dest="environment", help="an environment of weir.yaml")
    parser.add_argument("--format", choices=["text", "markdown", "json"], default="text")
    add_server_options(parser)


def _fail(message: str) -> int:
    print(f"weir gitops: {message}", file=sys.stderr)
    return EXIT_ERRORS


def run_plan(args: argparse.Namespace) -> int:
    from controlplane.gitops.config import load_config
    from controlplane.gitops.errors import GitOpsError
    from controlplane.gitops.plan import make_plan
    from controlplane.gitops.render import render
    from controlplane.gitops.source import fetch

    try:
        checkout = fetch(args.source, args.ref, path=args.path)
        config = load_config(checkout.root, checkout.root.name)
        with client_from(args, manager=config.manager) as client:
            plan = make_plan(client, checkout, environment=args.environment, prune=args.prune)
    except GitOpsError as error:
        return _fail(str(error))
    sys.stdout.write(render(plan, args.format))
    if args.github:
        return _to_github(plan)
    return plan.exit_code


def _to_github(plan: Any) -> int:
    from controlplane.gitops.contracts import SERVER
    from controlplane.gitops.github import GitHubContext, annotation, publish, step_summary
    from controlplane.gitops.render import headline, markdown
    from controlplane.spec.problems import Severity

    prefix = _workspace_prefix(plan.checkout.root)
    for problem in plan.problems:
        level = "error" if problem.severity is Severity.ERROR else "warning"
        where = problem.location
        print(
            annotation(
                level,
                prefix + where.file,
                where.line,
                where.column,
                f"weir: {problem.code}",
                problem.message,
            )
        )
    for contract in plan.contracts:
        where = contract.location
        message = f"{contract.caller} {contract.message}"
        if where.file.startswith(SERVER):  # a caller only the server holds: no file to mark
            print(annotation("error", None, None, None, "weir", f"{where}: {message}"))
            continue
        print(annotation("error", prefix + where.file, where.line, where.column, "weir", message))
    body = markdown(plan)
    step_summary(body, os.environ)
    failed = bool(plan.errors)
    try:
        context = GitHubContext.from_env(os.environ)
        publish(
            context,
            body_markdown=body,
            state="failure" if failed else "success",
            description=headline(plan)[:140],
        )
    except Exception as error:  # GitHub's own errors say what failed, never the token
        return _fail(f"cannot report to GitHub: {error}")
    return EXIT_ERRORS if failed else 0


def _workspace_prefix(root: Path) -> str:
    """The source's directory from the repository's root, as GitHub names files."""
    base = Path(os.environ.get("GITHUB_WORKSPACE") or Path.cwd()).resolve()
    try:
        relative = root.resolve().relative_to(base).as_posix()
    except ValueError:
        return ""
    return "" if relative == "." else relative + "/"


def run_apply(args: argparse.Namespace) -> int:
    from controlplane.gitops.reconcile import reconcile
    from controlplane.gitops.render import render

    summary = reconcile(
        args.source,
        ref=args.ref,
        path=args.path,
        server=args.server,
        token=args.token if args.token is not None else os.environ.get("WEIR_TOKEN"),
        environment=args.environment,
        prune=args.prune,
        dry_run=args.dry_run,
    )
    if summary.plan is not None and (args.dry_run or args.format != "text"):
        sys.stdout.write(render(summary.plan, args.format))
    if args.format == "json":
        return 0 if summary.ready else 1
    applied = summary.applied
    if applied is not None and not args.dry_run:
        for verb, keys in (
            ("created", applied.created),
            ("updated", applied.updated),
            ("deleted", applied.deleted),
        ):
            for key in keys:
                print(f"{verb} {key}")
        for note in applied.skipped:
            print(f"skipped {note}")
    if summary.drift:
        print("drift restored: " + ", ".join(str(k) for k in summary.drift))
    print(summary.line(), file=sys.stdout if summary.ready else sys.stderr)
    return 0 if summary.ready else 1


def run_status(args: argparse.Namespace) -> int:
    from controlplane.gitops.config import load_config
    from controlplane.gitops.errors import GitOpsError
    from controlplane.gitops.status import drift_since, read_status

    if bool(args.source) == bool(args.name):
        print("weir gitops status: give --source or --name", file=sys.stderr)
        return EXIT_ERRORS
    try:
        name = args.name or load_config(Path(args.source), Path(args.source).resolve().name).name
    except GitOpsError as error:
        return _fail(str(error))
    with client_from(args) as client:
        status = read_status(client, name)
        if status is None:
            return _fail(f"source {name} has never been reconciled on {client.url}")
        changed = drift_since(client, status)
    if args.format == "json":
        print(json.dumps({**status.as_json(), "drift": changed}, indent=2))
    else:
        state = "Ready" if status.ready else "Not ready"
        commit = (status.commit or "(not in git)")[:12]
        print(f"source {status.source}: {state} ({status.reason}) at {status.finished}")
        print(f"  from {status.location} @ {commit}: {status.message}")
        if changed:
            print(f"  drift: {len(changed)} object(s) changed in Weir since:")
            for item in changed:
                print(f"    {item['object']}: {item['change']}")
        else:
            print("  no drift: every object is as the last reconcile left it")
    return 0 if status.ready and not changed else 1
