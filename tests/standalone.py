"""``weir server standalone`` as a real process for the tests: started on a free port, its URL
read from what it prints, stopped with SIGTERM and expected to exit 0."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

WEIR = str(Path(sys.executable).parent / "weir")
_SERVING = re.compile(r"serving on (http://127\.0\.0\.1:\d+)")


@contextmanager
def standalone(env: Mapping[str, str], cwd: Path, *extra: str) -> Iterator[tuple[str, list[str]]]:
    """The server's URL and the lines it printed so far (the rest are appended on exit)."""
    process = subprocess.Popen(
        [WEIR, "server", "standalone", "--port", "0", "--grace", "2", *extra],
        env=dict(env),
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    output: list[str] = []
    url = None
    deadline = time.monotonic() + 60
    while url is None and time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        output.append(line)
        found = _SERVING.search(line)
        url = found.group(1) if found else None
    try:
        assert url is not None, "".join(output)
        yield url, output
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(30)
        output.append(process.stdout.read())
        process.stdout.close()
    assert code == 0, "".join(output)
