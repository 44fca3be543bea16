"""``weir terraform install`` writes a provider Terraform can start, and only Terraform."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

WEIR = str(Path(sys.executable).parent / "weir")


def test_install_writes_a_launcher_into_the_mirror_layout(tmp_path: Path) -> None:
    done = subprocess.run(
        [WEIR, "terraform", "install", "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    (launcher,) = tmp_path.glob("registry.terraform.io/weir/weir/*/*/terraform-provider-weir_v*")
    assert os.access(launcher, os.X_OK)
    assert str(launcher) in done.stdout and 'source = "weir/weir"' in done.stdout

    # Started by hand, without Terraform's handshake, it says what it is and stops.
    started = subprocess.run([launcher], capture_output=True, text=True, timeout=60)
    assert started.returncode == 1
    assert "is a Terraform provider plugin" in started.stderr and started.stdout == ""
