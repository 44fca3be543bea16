"""Flow sources the server has just found valid, remembered across the provider's processes.

``terraform apply`` starts the provider once to plan and again to apply, and the apply walk
plans every change a second time before making it. Each plan of a changed flow asks the server
to validate the source (``POST /flows/validate``), so an apply of a thousand new flows sent two
thousand validations, the second of each repeating the first moments later; the write that
follows is validated by the server again in any case.

So a source the server found valid, with no warning, is remembered, and a later provider process
of the same Terraform command (the same parent process), within :data:`KEPT_FOR` seconds, does
not ask again; another command asks again. What is kept is one file, ``valid-sources``, of
SHA-256 digests of the Terraform process's id, the server's URL, the token and the source, with
the time each was found valid; a digest reveals neither the source nor the token. It lives in
the provider's private folder (a 0700 directory of this user's, see
:mod:`~controlplane.provider.runtime.certificate`), is read at the first validation of a
process, and is written, merged with what other processes wrote, when the process ends. Without
a private folder nothing is kept and every plan validates.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time

from controlplane.provider.runtime.certificate import keep, read_kept

KEPT_FOR = 3600
"""Seconds a source found valid is taken as valid without asking again (an apply may wait
at its prompt that long)."""
_FILE = "valid-sources"
_MOST = 100_000
"""The most digests kept (the newest), so that the file stays small."""


class ValidSources:
    """The sources found valid lately, for one Terraform command, server and token."""

    def __init__(self, url: str, token: str | None) -> None:
        command = os.getppid()  # Terraform starts each provider process itself
        self._salt = hashlib.sha256(f"{command}\0{url}\0{token or ''}\0".encode()).digest()
        self._lock = threading.Lock()
        self._found: dict[str, float] | None = None
        self._new: dict[str, float] = {}

    def known(self, source: str) -> bool:
        """Whether the server found ``source`` valid, without a warning, less than
        :data:`KEPT_FOR` seconds ago."""
        digest = self._digest(source)
        with self._lock:
            if self._found is None:
                self._found = _read()
            found = self._new.get(digest) or self._found.get(digest)
        return found is not None and _fresh(time.time() - found)

    def remember(self, source: str) -> None:
        """The server has just found ``source`` valid, with no warning."""
        digest = self._digest(source)
        with self._lock:
            self._new[digest] = time.time()

    def save(self) -> None:
        """Add what this process found to the file (called once, as the process ends)."""
        with self._lock:
            new, self._new = self._new, {}
        if new:
            _write({**_read(), **new})

    def _digest(self, source: str) -> str:
        return hashlib.sha256(self._salt + source.encode()).hexdigest()


def _read() -> dict[str, float]:
    """The fresh digests in the file; none when there is no private folder or no such file."""
    kept = read_kept(_FILE)
    if kept is None:
        return {}
    now = time.time()
    fresh: dict[str, float] = {}
    for line in kept[0].decode("ascii", errors="replace").splitlines():
        digest, _, when = line.partition(" ")
        try:
            seconds = float(when)
        except ValueError:
            continue
        if len(digest) == 64 and _fresh(now - seconds):
            fresh[digest] = seconds
    return fresh


def _fresh(age: float) -> bool:
    """Whether an answer this many seconds old is still taken; the file keeps whole seconds,
    and a clock set back a little must not make every answer look as if from the future."""
    return -60 < age < KEPT_FOR


def _write(digests: dict[str, float]) -> None:
    newest = sorted(digests.items(), key=lambda item: item[1])[-_MOST:]
    keep(_FILE, "".join(f"{digest} {int(when)}\n" for digest, when in newest).encode())
