"""Session-wide checks: the system tools the suite needs, and where the shared corpus lies."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("WEIR_CORPUS", ROOT.parent / "shared" / "corpus" / "kestra-flows"))

# Tools the suite runs for real, with how to install them on Debian.
REQUIRED_TOOLS = {
    "git": "apt-get install git",
    "terraform": "HashiCorp's apt repository, or a release zip from releases.hashicorp.com",
    # CDKTF runs its constructs on Node.js (jsii).
    "node": "apt-get install nodejs (18 or later)",
}


def pytest_sessionstart(session: pytest.Session) -> None:
    missing = [
        f"{tool} (install: {how})" for tool, how in REQUIRED_TOOLS.items() if not shutil.which(tool)
    ]
    if missing:
        pytest.exit("the test suite needs these tools on PATH: " + "; ".join(missing), returncode=3)
    if not CORPUS.is_dir():
        pytest.exit(
            f"the Kestra flow corpus is not at {CORPUS}; set WEIR_CORPUS to its folder",
            returncode=3,
        )


@pytest.fixture(scope="session")
def corpus() -> Path:
    return CORPUS
