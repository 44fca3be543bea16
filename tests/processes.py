"""Weir server parts (``weir server executor|scheduler|worker``) as real processes, to start,
SIGKILL and start again; their output goes to a file of their own."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Mapping
from pathlib import Path

from tests.standalone import WEIR


class Part:
    def __init__(self, role: str, env: Mapping[str, str], folder: Path, *args: str) -> None:
        self.role = role
        self.env = dict(env)
        self.args = args
        self.log = folder / f"{role}-{id(self):x}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.kills = 0

    def start(self) -> Part:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [WEIR, "server", self.role, *self.args],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        return self

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no cleanup, no goodbye."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)
        self.kills += 1

    def stop(self) -> int:
        """SIGTERM, and the exit code."""
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(60)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""
