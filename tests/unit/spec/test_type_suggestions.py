"""An unknown type's suggestions rank the names whose last segments are nearest first."""

from __future__ import annotations

from controlplane.spec.validate import validate_text

FLOW = """id: sync
namespace: company.team
tasks:
  - id: activate
    type: {type}
"""


def first_suggestion(type_name: str) -> str:
    result = validate_text(FLOW.format(type=type_name))
    message = next(p.message for p in result.problems if "did you mean" in p.message)
    return message.split("did you mean ", 1)[1].split(",")[0].rstrip("?")


def test_the_plugin_family_decides_between_classes_of_the_same_name() -> None:
    assert first_suggestion("hightouch.Synk") == "io.kestra.plugin.hightouch.Sync"
    assert first_suggestion("io.kestra.plugin.hightouch.Synk") == "io.kestra.plugin.hightouch.Sync"
    assert first_suggestion("io.kestra.plugin.git.Synk") == "io.kestra.plugin.git.Sync"
