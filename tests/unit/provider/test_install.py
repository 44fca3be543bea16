"""Installing the provider also compiles what it imports, so that no start compiles it again."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import controlplane.provider.main
import controlplane.provider.runtime.service
from controlplane.provider.install import install


def test_install_writes_the_bytecode_the_provider_imports(tmp_path: Path) -> None:
    modules = (controlplane.provider.main, controlplane.provider.runtime.service)
    compiled = [Path(importlib.util.cache_from_source(str(m.__file__))) for m in modules]
    for path in compiled:
        path.unlink(missing_ok=True)

    installed = install(tmp_path / "plugins")

    assert installed.launcher.exists()
    for path in compiled:
        assert path.exists()
