"""The engine imports a task's implementation when it first runs a task of that type."""

from __future__ import annotations

import json
import subprocess
import sys

from controlplane.tasks import index


def test_the_checked_in_index_names_every_implementation() -> None:
    assert index.current() == index.IMPLEMENTATIONS, (
        "controlplane/tasks/index.py is out of date: run python -m controlplane.tasks.index"
    )


def test_a_runner_is_found_through_the_index_and_nothing_else_is_imported() -> None:
    script = (
        "import json, sys\n"
        "import controlplane.tasks\n"
        "from controlplane.engine.runnable import runner_for\n"
        "from controlplane.spec.plugins.core import Return\n"
        "runner = runner_for(Return)\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('controlplane.tasks.'))\n"
        "print(json.dumps({'module': runner and runner.__module__, 'loaded': loaded}))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.splitlines()[-1])
    assert result["module"] == "controlplane.tasks.core"
    assert "controlplane.tasks.jdbc" not in result["loaded"]
    assert "controlplane.tasks.kubernetes" not in result["loaded"]
