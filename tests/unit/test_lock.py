"""requirements.lock pins every dependency pyproject.toml names, and the environment is the lock's.

A fresh machine must resolve exactly what the suite last ran with: the README's commands install
with ``-c requirements.lock``, so a dependency added to pyproject.toml without refreshing the lock,
or a virtual environment that did not come from it, is caught here.
"""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
REFRESH = "uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 -o requirements.lock"


def locked() -> dict[str, tuple[str, Marker | None]]:
    pins: dict[str, tuple[str, Marker | None]] = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        requirement = Requirement(text)
        (specifier,) = requirement.specifier
        assert specifier.operator == "==", f"requirements.lock: {text} is not an exact pin"
        pins[canonicalize_name(requirement.name)] = (specifier.version, requirement.marker)
    return pins


def declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    return [Requirement(name) for name in names]


def test_the_lock_pins_every_declared_dependency_within_its_range() -> None:
    pins = locked()
    for requirement in declared():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement.name} is not in requirements.lock: run {REFRESH}"
        version, _ = pins[name]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"requirements.lock pins {name}=={version}, outside {requirement}: run {REFRESH}"
        )


def test_the_environment_is_the_one_the_lock_describes() -> None:
    for name, (version, marker) in locked().items():
        if marker is not None and not marker.evaluate():
            continue
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            raise AssertionError(f"{name} is locked but not installed") from None
        assert installed == version, (
            f"{name} {installed} is installed, the lock says {version}: "
            "install with pip install -c requirements.lock -e '.[dev]'"
        )
