"""``pip install .`` ships every template and static file of the UI: each one matches a glob of
pyproject.toml's package data."""

from __future__ import annotations

import tomllib
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
UI = ROOT / "controlplane" / "ui"


def test_every_ui_asset_is_package_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    globs = config["tool"]["setuptools"]["package-data"]["controlplane.ui"]
    assets = [
        path.relative_to(UI).as_posix()
        for folder in ("templates", "static")
        for path in (UI / folder).rglob("*")
        if path.is_file()
    ]
    assert assets
    missing = [asset for asset in assets if not any(fnmatch(asset, g) for g in globs)]
    assert not missing, f"add a glob for these to [tool.setuptools.package-data]: {missing}"
