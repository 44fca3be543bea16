"""``weir secret set|seal|seal-key``: set a secret on a server, or seal it for Git.

``weir secret set --namespace NS --name NAME`` reads the value the same way and sets it on the
server (``--server``, ``WEIR_URL``, ``WEIR_TOKEN``); the value never appears in an argument or
in the output.

``weir secret seal --namespace NS --name NAME`` reads the value from standard input (or
``--from-file``), never from an argument, and encrypts it to the server's public key for exactly
that namespace and name. The value is kept exactly as read, trailing newline included: pipe it
with ``printf %s "$VALUE" | weir secret seal ...`` rather than ``echo``. The output is a
``SealedSecret`` file with one sealed value per server key; ``--out FILE`` adds or replaces this
server's entry in FILE and keeps the others, so one file serves several environments.

The server's public key comes from the server (``--server``, ``WEIR_URL``), or, offline, from a
file that ``weir secret seal-key --out FILE`` wrote.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import getpass
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from controlplane.cli.remote import add_server_options, client_from
from controlplane.client import ClientError
from controlplane.errors import WeirError

if TYPE_CHECKING:
    from controlplane.spec.sealing import SealedSecretFile

EXIT_ERROR = 1


class _Refused(WeirError):
    """A one-line reason to stop, for standard error."""


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "secret",
        help="seal secrets for a Git repository",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    seal = actions.add_parser(
        "seal",
        help="seal a value read from standard input for one server",
        description="Seal a value read from standard input (or --from-file) to a server's key. "
        'The value is sealed exactly as read: printf %s "$VALUE" | weir secret seal ... leaves '
        "out the newline that echo would add.",
    )
    seal.add_argument("--namespace", required=True, help="the secret's namespace on the server")
    seal.add_argument("--name", required=True, help="the secret's name")
    seal.add_argument(
        "--from-file",
        metavar="PATH",
        help="read the value from this file, exactly as it is (default: standard input)",
    )
    seal.add_argument(
        "--out",
        metavar="FILE",
        help="write the sealed file here; an existing one keeps its entries for other keys",
    )
    seal.add_argument(
        "--public-key",
        metavar="FILE",
        help="seal offline to the key in this file (from weir secret seal-key --out FILE)",
    )
    add_server_options(seal)
    seal.set_defaults(handler=run_seal)
    put = actions.add_parser(
        "set",
        help="set a secret on the server from standard input",
        description="Set a secret on the server to a value read from standard input (or "
        "--from-file), exactly as read.",
    )
    put.add_argument("--namespace", required=True, help="the secret's namespace")
    put.add_argument("--name", required=True, help="the secret's name")
    put.add_argument(
        "--from-file",
        metavar="PATH",
        help="read the value from this file, exactly as it is (default: standard input)",
    )
    add_server_options(put)
    put.set_defaults(handler=run_set)
    key = actions.add_parser(
        "seal-key",
        help="fetch the server's public key for sealing",
        description="Fetch the public key that the server opens sealed secrets with.",
    )
    key.add_argument("--out", metavar="FILE", help="write it to this file (default: print it)")
    add_server_options(key)
    key.set_defaults(handler=run_seal_key)


def run_seal(args: argparse.Namespace) -> int:
    from controlplane.spec.sealing import (
        SealedSecretFile,
        SealError,
        dump_sealed_file,
        seal,
    )

    try:
        _check_names(args.namespace, args.name)
        existing = _existing(args.out, args.namespace, args.name) if args.out else None
        value = _read_value(args.from_file, "seal")
        key_id, public_key = _key(args)
        blob = seal(public_key, args.namespace, args.name, value)
    except (_Refused, SealError, ClientError) as exc:
        return _fail(str(exc))
    if existing is None:
        existing = SealedSecretFile(args.namespace, args.name, {})
    text = dump_sealed_file(existing.with_entry(key_id, blob))
    if args.out is None:
        sys.stdout.write(text)
        return 0
    try:
        _write(Path(args.out), text)
    except OSError as exc:
        return _fail(f"cannot write {args.out}: {exc.strerror or exc}")
    print(
        f"Sealed secret {args.name} of namespace {args.namespace} for key {key_id} in {args.out}",
        file=sys.stderr,
    )
    return 0


def run_set(args: argparse.Namespace) -> int:
    try:
        _check_names(args.namespace, args.name)
        value = _read_value(args.from_file, "set")
        with client_from(args) as client:
            meta = client.secrets.set(args.namespace, args.name, value)
    except (_Refused, ClientError) as exc:
        return _fail(str(exc))
    print(
        f"Set secret {meta.name} of namespace {meta.namespace} (revision {meta.revision})",
        file=sys.stderr,
    )
    return 0


def run_seal_key(args: argparse.Namespace) -> int:
    try:
        key_id, public_key = _server_key(args)
    except (_Refused, ClientError) as exc:
        return _fail(str(exc))
    from controlplane.spec.sealing import ALGORITHM

    text = json.dumps(
        {
            "key_id": key_id,
            "algorithm": ALGORITHM,
            "public_key": base64.b64encode(public_key).decode("ascii"),
        },
        indent=2,
    )
    if args.out is None:
        print(text)
        return 0
    try:
        _write(Path(args.out), text + "\n")
    except OSError as exc:
        return _fail(f"cannot write {args.out}: {exc.strerror or exc}")
    print(f"Wrote the public key {key_id} to {args.out}", file=sys.stderr)
    return 0


def _fail(message: str) -> int:
    print(f"weir secret: {' '.join(message.split())}", file=sys.stderr)
    return EXIT_ERROR


def _check_names(namespace: str, name: str) -> None:
    from controlplane.spec.sealing import name_problem, namespace_problem

    for option, problem in (
        ("--namespace", namespace_problem(namespace)),
        ("--name", name_problem(name)),
    ):
        if problem is not None:
            raise _Refused(f"{option}: {problem}")


def _existing(out: str, namespace: str, name: str) -> SealedSecretFile | None:
    """The sealed file at ``out`` when there is one; it must be for the same secret."""
    from controlplane.spec.sealing import read_sealed_file

    path = Path(out)
    if not path.exists():
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8 text"
        raise _Refused(f"cannot read {out}: {reason}") from None
    found = read_sealed_file(text, out)
    if (found.namespace, found.name) != (namespace, name):
        raise _Refused(
            f"{out} holds secret {found.name} of namespace {found.namespace}, not {name} of "
            f"namespace {namespace}: pass --namespace {found.namespace} --name {found.name}, "
            "or write to another file"
        )
    return found


def _read_value(from_file: str | None, verb: str) -> str:
    """The value exactly as read: from the file, from piped input, or typed without echo."""
    if from_file is not None:
        try:
            raw = Path(from_file).read_bytes()
        except OSError as exc:
            raise _Refused(f"cannot read {from_file}: {exc.strerror or exc}") from None
        where = from_file
    elif sys.stdin.isatty():
        return _typed(verb)
    else:
        raw = sys.stdin.buffer.read()
        where = "standard input"
    try:
        value = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _Refused(f"the value read from {where} is not UTF-8 text") from None
    if not value:
        raise _Refused(f"the value read from {where} is empty: nothing to {verb}")
    if value.endswith("\n"):
        print(
            f"note: the value read from {where} ends with a newline, which is kept; "
            f'printf %s "$VALUE" | weir secret {verb} ... leaves it out',
            file=sys.stderr,
        )
    return value


def _typed(verb: str) -> str:
    value = getpass.getpass(f"Value to {verb} (not shown): ")
    if not value:
        raise _Refused(f"no value was typed: nothing to {verb}")
    return value


def _key(args: argparse.Namespace) -> tuple[str, bytes]:
    if args.public_key is not None:
        return _key_file(args.public_key)
    return _server_key(args)


def _server_key(args: argparse.Namespace) -> tuple[str, bytes]:
    from controlplane.spec.sealing import ALGORITHM, key_id

    with client_from(args) as client:
        found = client.secrets.seal_key()
    if found.algorithm != ALGORITHM:
        raise _Refused(
            f"the server at {client.url} seals with {found.algorithm}, which this weir does not "
            f"know ({ALGORITHM}): use the weir of the server's version"
        )
    if key_id(found.public_key) != found.key_id:
        raise _Refused(
            f"the server at {client.url} named its key {found.key_id}, which is not the id of "
            "the key it sent: check that WEIR_URL is a Weir server"
        )
    return found.key_id, found.public_key


def _key_file(path: str) -> tuple[str, bytes]:
    """The key of a file written by ``weir secret seal-key --out``, checked whole."""
    from controlplane.spec.sealing import ALGORITHM, KEY_BYTES, key_id

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise _Refused(f"cannot read {path}: {exc.strerror or exc}") from None
    except ValueError:
        data = None
    if not isinstance(data, dict) or not all(
        isinstance(data.get(k), str) for k in ("key_id", "algorithm", "public_key")
    ):
        raise _Refused(
            f"{path} is not a key file: write one with weir secret seal-key --out {path}"
        )
    if data["algorithm"] != ALGORITHM:
        raise _Refused(f"{path}: algorithm {data['algorithm']!r} is not {ALGORITHM}")
    try:
        public_key = base64.b64decode(data["public_key"], validate=True)
    except (binascii.Error, ValueError):
        public_key = b""
    if len(public_key) != KEY_BYTES or key_id(public_key) != data["key_id"]:
        raise _Refused(
            f"{path}: public_key is not the {KEY_BYTES}-byte key named {data['key_id']}: the "
            f"file is damaged; write it again with weir secret seal-key --out {path}"
        )
    return key_id(public_key), public_key


def _write(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` at once: a reader sees the old file or the new one."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
