"""Every process a task starts runs in a bubblewrap sandbox.

The sandbox sees the system's programs and libraries read-only (``/usr``, ``/etc``, ``/opt``,
Weir's own Python, the server's ``PATH`` and the paths the operator lists), its private ``/proc``,
``/dev`` and ``/tmp``, and, writable, only the directories of its own attempt (working directory
and scratch folders), each mounted alone: never ``WEIR_HOME``, the key, the database, internal
storage or another attempt's directory. It has its own PID, IPC and UTS namespaces; the network
is shared (tasks call APIs). Its environment holds nothing of the server's but ``PATH``.

When the server runs as root, the process drops to an unprivileged user (``nobody`` by default)
with no capabilities; otherwise bubblewrap maps the server's user into a user namespace without
capabilities. Limits on address space and process count apply through ``prlimit``.

A server that cannot start bubblewrap refuses to run task processes, unless it was started with
the explicit opt-out (``weir server --unsafe-no-sandbox`` or ``WEIR_SANDBOX=off``), which it logs
loudly at start and in every task that starts a process.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

_SYSTEM_DIRS = ("/usr", "/etc", "/opt", "/run/systemd/resolve")
_LINKABLE = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
_BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_OFF = ("off", "0", "false", "no", "unsafe")
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}

OPT_OUT = "--unsafe-no-sandbox (or WEIR_SANDBOX=off)"
UNSAFE_WARNING = (
    "Task processes run WITHOUT a sandbox (--unsafe-no-sandbox / WEIR_SANDBOX=off): a script can "
    "read WEIR_HOME, the secret key, the database and every namespace's secrets, as the server's "
    "user. Use it only where every flow author is trusted."
)


@dataclass(frozen=True)
class SandboxSettings:
    enabled: bool = True
    """False only with the explicit opt-out: processes then run as the server's user, unconfined."""
    read_only: tuple[Path, ...] = ()
    """Host paths task processes may read besides the system's (e.g. a tool's virtualenv)."""
    hidden: tuple[Path, ...] = ()
    """Never mounted, even when a read-only path contains them (WEIR_HOME, the key, storage)."""
    max_processes: int = 1024
    max_memory_bytes: int = 8 << 30
    """Address-space limit of each process (0: none)."""
    user: int = 65534
    group: int = 65534
    """Who the processes run as when the server runs as root."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str], hidden: Iterable[Path] = ()) -> SandboxSettings:
        """``WEIR_SANDBOX`` (``off`` opts out), ``WEIR_SANDBOX_READ_ONLY`` (paths separated by
        ``:``), ``WEIR_SANDBOX_MAX_PROCESSES``, ``WEIR_SANDBOX_MAX_MEMORY`` (``512M``, ``8G``)."""
        enabled = environ.get("WEIR_SANDBOX", "on").strip().lower() not in _OFF
        read_only = [Path(p) for p in environ.get("WEIR_SANDBOX_READ_ONLY", "").split(":") if p]
        defaults = cls()
        processes = environ.get("WEIR_SANDBOX_MAX_PROCESSES")
        memory = environ.get("WEIR_SANDBOX_MAX_MEMORY")
        return cls(
            enabled=enabled,
            read_only=tuple(read_only),
            hidden=tuple(hidden),
            max_processes=int(processes) if processes else defaults.max_processes,
            max_memory_bytes=parse_bytes(memory) if memory else defaults.max_memory_bytes,
        )


def parse_bytes(text: str) -> int:
    """``512M``, ``8G``, ``1048576`` as a number of bytes."""
    value = text.strip().upper().removesuffix("B").removesuffix("I")
    unit = value[-1:] if value[-1:] in _UNITS else ""
    try:
        return int(float(value.removesuffix(unit) if unit else value) * _UNITS[unit])
    except ValueError:
        raise ValueError(f"'{text}' is not a size: write bytes, or e.g. 512M or 8G") from None


class SandboxUnavailable(Exception):
    """The sandbox cannot start here; the message says why and what to do."""


@dataclass(frozen=True)
class Confinement:
    """How to start one process: its command line and environment."""

    args: list[str]
    env: dict[str, str]
    owner: tuple[int, int] | None = None
    """Who the writable directories must belong to (the sandbox user), when it differs."""
    writable: tuple[Path, ...] = field(default=())


def confine(
    settings: SandboxSettings,
    args: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    writable: Sequence[Path],
) -> Confinement:
    """The command that runs ``args`` sandboxed in ``cwd`` with only ``env`` (plus PATH, HOME,
    TMPDIR and LANG); raises SandboxUnavailable when bubblewrap cannot start here."""
    problem = _probe(settings.user, settings.group)
    if problem is not None:
        raise SandboxUnavailable(problem)
    root = os.geteuid() == 0
    mounts = _static_mounts(settings, os.environ.get("PATH", "")).copy()
    for path in writable:
        mounts.writable(path)
    command = [_tool("bwrap"), *_NAMESPACES, *(() if root else _USER_NAMESPACE)]
    command += ["--die-with-parent", *mounts.args, "--chdir", str(cwd), *_limits(settings)]
    if root:
        command += _drop_to(settings.user, settings.group)
    command += list(args)
    sandbox_env = {"PATH": os.environ.get("PATH", _BASE_PATH), "LANG": "C.UTF-8"}
    sandbox_env["GIT_CONFIG_GLOBAL"] = _GITCONFIG
    sandbox_env.update(env)
    sandbox_env.update({"HOME": "/tmp", "TMPDIR": "/tmp"})
    owner = (settings.user, settings.group) if root else None
    return Confinement(command, sandbox_env, owner, tuple(writable))


def give_to(owner: tuple[int, int] | None, directories: Iterable[Path]) -> None:
    """Make the attempt's directories the sandbox user's, so its processes can write them."""
    if owner is None:
        return
    uid, gid = owner
    for directory in directories:
        if not directory.exists():
            continue
        os.lchown(directory, uid, gid)
        for base, dirs, files in os.walk(directory):
            for name in [*dirs, *files]:
                os.lchown(os.path.join(base, name), uid, gid)


_NAMESPACES = ("--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try")
_USER_NAMESPACE = ("--unshare-user", "--cap-drop", "ALL")


def _limits(settings: SandboxSettings) -> list[str]:
    limits = [f"--nproc={settings.max_processes}"] if settings.max_processes > 0 else []
    if settings.max_memory_bytes > 0:
        limits.append(f"--as={settings.max_memory_bytes}")
    return [_tool("prlimit"), *limits, "--"] if limits else []


@functools.cache
def _tool(name: str) -> str:
    """A system program by its absolute path: neither the task's PATH nor a test's changes it."""
    return shutil.which(name, path=_BASE_PATH) or name


def _drop_to(uid: int, gid: int) -> list[str]:
    return [
        _tool("setpriv"),
        f"--reuid={uid}",
        f"--regid={gid}",
        "--clear-groups",
        "--inh-caps=-all",
        "--bounding-set=-all",
        "--no-new-privs",
        "--",
    ]


@functools.lru_cache(maxsize=32)
def _static_mounts(settings: SandboxSettings, path_env: str) -> _Mounts:
    """The read-only part, the same for every attempt (computed once: it walks paths)."""
    mounts = _Mounts(hidden=settings.hidden)
    mounts.system()
    mounts.file(_gitconfig(), Path(_GITCONFIG))
    for path in _host_read_only(settings, path_env):
        mounts.read_only(path)
    return mounts


_GITCONFIG = "/run/weir/gitconfig"


@functools.cache
def _gitconfig() -> Path:
    """git's global settings in the sandbox: ``safe.directory=*``. Repositories the sandbox
    shows read-only belong to another user than the sandbox's, which git refuses as "dubious
    ownership" (even to its own upload-pack); inside the sandbox that check protects nothing."""
    folder = Path(tempfile.mkdtemp(prefix="weir-sandbox-"))
    folder.chmod(0o755)
    path = folder / "gitconfig"
    path.write_text("[safe]\n\tdirectory = *\n", encoding="utf-8")
    path.chmod(0o644)
    return path


def _host_read_only(settings: SandboxSettings, path_env: str) -> list[Path]:
    """Weir's Python and its own package (scripts and Terraform's provider run them; an
    editable install keeps the package outside the environment), the server's PATH and the
    operator's paths."""
    package = Path(__file__).resolve().parent.parent
    paths = [Path(sys.prefix), Path(sys.base_prefix), Path(sys.executable).parent, package]
    paths += [Path(p) for p in path_env.split(":") if p.startswith("/")]
    paths += settings.read_only
    return paths


class _Mounts:
    """bubblewrap's mount arguments, with the folders leading to each mount created
    world-readable (bubblewrap would make them root-only) and nothing hidden ever mounted."""

    def __init__(self, hidden: Sequence[Path]) -> None:
        self.args: list[str] = ["--proc", "/proc", "--dev", "/dev"]
        # Private and writable by anyone, as on a host (multiprocessing needs /dev/shm).
        self.args += [
            "--perms",
            "1777",
            "--tmpfs",
            "/dev/shm",
            "--perms",
            "1777",
            "--tmpfs",
            "/tmp",
        ]
        self.hidden = [_real(p) for p in hidden]
        self.mounted: list[Path] = [Path("/proc"), Path("/dev")]
        self.made: set[Path] = {Path("/"), Path("/tmp")}

    def copy(self) -> _Mounts:
        copied = _Mounts(hidden=())
        copied.args, copied.hidden = list(self.args), list(self.hidden)
        copied.mounted, copied.made = list(self.mounted), set(self.made)
        return copied

    def system(self) -> None:
        for name in _LINKABLE:
            path = Path(name)
            if path.is_symlink():
                self.args += ["--symlink", os.readlink(path), name]
            elif path.is_dir():
                self.read_only(path)
        for name in _SYSTEM_DIRS:
            self.read_only(Path(name))

    def read_only(self, path: Path) -> None:
        real = _real(path)
        if not real.exists():
            return
        if real == Path("/") or any(_overlaps(real, h) for h in self.hidden):
            return  # would show WEIR_HOME, the key or another attempt's files
        if any(real.is_relative_to(m) for m in self.mounted):
            return
        self._parents(real)
        self.args += ["--ro-bind", str(real), str(real)]
        self.mounted.append(real)

    def file(self, source: Path, target: Path) -> None:
        self._parents(target)
        self.args += ["--ro-bind", str(source), str(target)]

    def writable(self, path: Path) -> None:
        real = _real(path)
        if any(h.is_relative_to(real) for h in self.hidden):
            raise SandboxUnavailable(f"{real} holds files no task may see: it is not mounted")
        self._parents(real)
        self.args += ["--bind", str(real), str(real)]

    def _parents(self, path: Path) -> None:
        for parent in reversed(path.parents):
            if parent in self.made or any(parent.is_relative_to(m) for m in self.mounted):
                continue
            self.args += ["--perms", "0755", "--dir", str(parent)]
            self.made.add(parent)


def _real(path: Path) -> Path:
    return Path(os.path.realpath(path))


def _overlaps(a: Path, b: Path) -> bool:
    return a == b or a.is_relative_to(b) or b.is_relative_to(a)


@functools.cache
def _probe(uid: int, gid: int) -> str | None:
    """Why bubblewrap cannot start a process here, or None when it can (tried once)."""
    if not os.path.isabs(_tool("bwrap")):
        return "bubblewrap is not installed (apt-get install -y bubblewrap)"
    root = os.geteuid() == 0
    command = [
        _tool("bwrap"),
        *_NAMESPACES,
        *(() if root else _USER_NAMESPACE),
        "--die-with-parent",
    ]
    command += ["--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev"]
    command += _drop_to(uid, gid) if root else []
    done = subprocess.run(
        [*command, "true"], capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False
    )
    if done.returncode == 0:
        return None
    why = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"
    return f"bubblewrap could not start a sandbox ({why}); allow user namespaces"


def unavailable_message(reason: str) -> str:
    return (
        f"Task processes run in a sandbox, and this server cannot start one: {reason}. "
        f"Fix that, or start the server with {OPT_OUT} to run task processes unconfined."
    )


def check(settings: SandboxSettings) -> str | None:
    """What a server says at start about its sandbox: None when all is well."""
    if not settings.enabled:
        return UNSAFE_WARNING
    problem = _probe(settings.user, settings.group)
    return None if problem is None else unavailable_message(problem)
