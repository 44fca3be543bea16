"""The type registry imports a plugin module when a flow first names one of its types."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from controlplane.spec import typealiases, typeindex, typeindexer
from controlplane.spec.registry import Kind, TypeRegistry


def test_the_checked_in_index_names_every_registered_type() -> None:
    stale = (
        "controlplane/spec/typeindex.py is out of date: run python -m controlplane.spec.typeindex"
    )
    assert typeindexer.current() == typeindex.MODULES, stale
    assert typeindexer.current_aliases() == typealiases.ALIASES, stale


def _plugin_package(root: Path) -> tuple[str, TypeRegistry]:
    """A package of two plugin modules registering into a registry of their own."""
    name = f"plugins_{uuid.uuid4().hex}"
    package = root / name
    package.mkdir()
    (package / "__init__.py").write_text("")
    (root / f"{name}_registry.py").write_text(
        "from controlplane.spec.registry import TypeRegistry\n"
        f"REGISTRY = TypeRegistry({name!r}, {{'task': {{'x.One': 'one', 'x.Uno': 'one'}}}},"
        " {'task': ['x.Uno']})\n"
    )
    for module, type_name, alias in (("one", "x.One", "x.Uno"), ("two", "x.Two", "x.Dos")):
        (package / f"{module}.py").write_text(
            textwrap.dedent(f"""
                from pydantic import BaseModel
                from controlplane.spec.registry import Kind
                from {name}_registry import REGISTRY

                @REGISTRY.register(Kind.TASK, {type_name!r}, [{alias!r}])
                class Model(BaseModel):
                    pass
            """)
        )
    (package / "entry_points.py").write_text(
        textwrap.dedent(f"""
            from pydantic import BaseModel
            from controlplane.spec.registry import Kind
            from {name}_registry import REGISTRY

            @REGISTRY.register(Kind.TASK, "x.FromPlugin")
            class Model(BaseModel):
                pass
        """)
    )
    sys.path.insert(0, str(root))
    holder = __import__(f"{name}_registry")
    registry: TypeRegistry = holder.REGISTRY
    return name, registry


@pytest.fixture
def plugins(tmp_path: Path) -> Iterator[tuple[str, TypeRegistry]]:
    path = len(sys.path)
    yield _plugin_package(tmp_path)
    del sys.path[: len(sys.path) - path]


def test_a_type_in_the_index_imports_only_its_module(plugins: tuple[str, TypeRegistry]) -> None:
    package, registry = plugins
    found = registry.resolve(Kind.TASK, "x.Uno")
    assert found is not None and found.name == "x.One"
    assert f"{package}.one" in sys.modules
    assert f"{package}.two" not in sys.modules


def test_a_type_missing_from_the_index_imports_no_plugin_module(
    plugins: tuple[str, TypeRegistry],
) -> None:
    package, registry = plugins
    assert registry.resolve(Kind.TASK, "x.Dos") is None
    assert f"{package}.one" not in sys.modules
    assert f"{package}.two" not in sys.modules
    names = [info.name for info in registry.types(Kind.TASK)]
    assert names == ["x.FromPlugin", "x.One", "x.Two"]  # every type, once all are loaded


def test_suggestions_are_the_index_names_without_its_aliases_and_import_nothing(
    plugins: tuple[str, TypeRegistry],
) -> None:
    package, registry = plugins
    assert registry.closest(Kind.TASK, "x.Onee") == ["x.One"]
    assert registry.closest(Kind.TASK, "x.Unoo") == []
    assert not [name for name in sys.modules if name.startswith(f"{package}.")]


def test_an_unknown_name_loads_the_installed_plugins_once(
    plugins: tuple[str, TypeRegistry],
) -> None:
    package, registry = plugins
    assert registry.resolve(Kind.TASK, "x.Three") is None
    assert f"{package}.entry_points" in sys.modules
    found = registry.resolve(Kind.TASK, "x.FromPlugin")
    assert found is not None and found.name == "x.FromPlugin"


def test_validating_a_flow_imports_only_the_plugin_modules_it_uses(tmp_path: Path) -> None:
    flow = tmp_path / "hello.yaml"
    flow.write_text(
        "id: hello\nnamespace: company.team\ntasks:\n"
        "  - id: say\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
    )
    script = (
        "import json, sys\n"
        "from controlplane.spec.validate import validate_source\n"
        "from pathlib import Path\n"
        "from controlplane.spec.source import read_source\n"
        f"ok = validate_source(read_source(Path({str(flow)!r}))).ok\n"
        "mods = sorted(m for m in sys.modules if m.startswith('controlplane.spec.plugins.'))\n"
        "print(json.dumps({'ok': ok, 'modules': mods, 'jinja2': 'jinja2' in sys.modules}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    result = json.loads(out)
    assert result["ok"] is True
    assert "controlplane.spec.plugins.core" in result["modules"]
    assert "controlplane.spec.plugins.dbt" not in result["modules"]
    assert "controlplane.spec.plugins.jdbc" not in result["modules"]
    assert result["jinja2"] is False
