"""``weir`` imports only the module of the command it runs, and still lists every command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from controlplane import cli
from controlplane.cli.main import COMMANDS, build_parser


def test_the_help_of_the_listed_commands_matches_their_modules() -> None:
    assert build_parser().format_help() == build_parser(only=[]).format_help()


def test_every_command_module_is_listed() -> None:
    package = Path(cli.__file__).parent
    defining = {path.stem for path in package.glob("*.py") if "def add_parser(" in path.read_text()}
    assert defining == set(COMMANDS)


def _modules_after(argv: list[str]) -> dict[str, object]:
    script = (
        "import json, sys\n"
        "from controlplane.cli.main import main\n"
        f"code = main({argv!r})\n"
        "loaded = [m for m in sys.modules if m.startswith('controlplane.')]\n"
        "packages = sorted({m.split('.')[0] for m in sys.modules})\n"
        "print(json.dumps({'code': code, 'loaded': loaded, 'packages': packages}))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    last: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return last


def test_the_command_list_imports_no_command_module() -> None:
    result = _modules_after([])
    assert result["code"] == 2
    loaded = result["loaded"]
    assert isinstance(loaded, list)
    assert [name for name in loaded if name.startswith("controlplane.cli.")] == [
        "controlplane.cli.main"
    ]
    assert "controlplane.spec.validate" not in loaded
    packages = result["packages"]
    assert isinstance(packages, list)
    assert not {"pydantic", "yaml", "rich", "sqlalchemy", "fastapi"} & set(packages)


def test_validate_imports_neither_the_engine_nor_the_other_commands(tmp_path: Path) -> None:
    flow = tmp_path / "hello.yaml"
    flow.write_text(
        "id: hello\nnamespace: company.team\ntasks:\n"
        "  - id: say\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
    )
    result = _modules_after(["validate", str(flow)])
    assert result["code"] == 0
    loaded = result["loaded"]
    assert isinstance(loaded, list)
    assert "controlplane.cli.validate" in loaded
    assert "controlplane.cli.run" not in loaded
    assert not [
        name for name in loaded if name.startswith(("controlplane.engine", "controlplane.store"))
    ]
    # Only the plugin module of the types the flow names: the checks that look for a Dag, a
    # Schedule or a Subflow do not import the modules that define them.
    plugins = [name for name in loaded if name.startswith("controlplane.spec.plugins.")]
    assert plugins == ["controlplane.spec.plugins.core"]
    packages = result["packages"]
    assert isinstance(packages, list)
    assert not {"rich", "jinja2", "sqlalchemy", "fastapi", "starlette"} & set(packages)


def _frozen_after(call: str, flow: Path) -> int:
    """How many objects are frozen after ``call`` runs ``weir validate flow``."""
    script = (
        "import gc, sys\n"
        "from controlplane.cli.main import main\n"
        f"sys.argv = ['weir', 'validate', {str(flow)!r}]\n"
        f"code = {call}\n"
        "print(code, gc.get_freeze_count())\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    code, frozen = done.stdout.strip().splitlines()[-1].split()
    assert code == "0", done.stderr
    return int(frozen)


def test_the_command_of_the_process_leaves_its_objects_to_the_exit(tmp_path: Path) -> None:
    flow = tmp_path / "hello.yaml"
    flow.write_text(
        "id: hello\nnamespace: company.team\ntasks:\n"
        "  - id: say\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
    )
    assert _frozen_after("main()", flow) > 0
    assert _frozen_after("main(sys.argv[1:])", flow) == 0
