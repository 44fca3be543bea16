"""The checked-in provider schema and Registry docs against what the real terraform binary reports
for the provider as it is now, the facts of that schema users rely on, and the examples the docs
show (each must pass ``terraform validate`` against the real provider)."""

from __future__ import annotations

import difflib
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from controlplane.provider.docs import (
    COMMAND,
    DOCS_DIR,
    EXAMPLES_DIR,
    ROOT,
    SCHEMA_FILE,
    differences,
    dump_schema,
    generated_files,
    main,
    render_docs,
)
from controlplane.provider.install import offline_environment
from controlplane.provider.provider import SOURCE_ADDRESS
from tests.integration.provider.harness import Terraform

VERSIONS = """terraform {
  required_providers {
    weir = { source = "weir/weir" }
  }
}
"""


@pytest.fixture(scope="module")
def schema(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return dump_schema(tmp_path_factory.mktemp("schema"))


def test_checked_in_schema_and_docs_are_current(schema: dict[str, Any]) -> None:
    files = generated_files(schema, ROOT)
    stale = differences(files, ROOT)
    assert not stale, (
        f"out of date: {', '.join(stale)}; regenerate them with `{COMMAND}` and commit the "
        f"result.\n{_first_diff(files, stale[0])}"
    )


def _first_diff(files: dict[str, str], path: str) -> str:
    checked_in = ROOT / path
    old = checked_in.read_text().splitlines() if checked_in.is_file() else []
    new = files.get(path, "").splitlines()
    return "\n".join(list(difflib.unified_diff(old, new, path, "generated", lineterm=""))[:60])


def test_schema_says_what_users_rely_on(schema: dict[str, Any]) -> None:
    weir = schema["provider_schemas"][SOURCE_ADDRESS]
    provider = weir["provider"]["block"]["attributes"]
    assert provider["token"].get("sensitive") is True
    assert all(attribute.get("optional") for attribute in provider.values())

    namespace = weir["resource_schemas"]["weir_namespace"]["block"]["attributes"]
    assert namespace["name"].get("required") is True
    assert namespace["variables"]["type"] == ["map", "string"]
    assert namespace["id"].get("computed") and not namespace["id"].get("optional")
    assert namespace["revision"].get("computed") and not namespace["revision"].get("optional")
    assert all(a["description_kind"] == "markdown" and a["description"] for a in namespace.values())


def test_namespace_page_shows_its_schema_example_and_import() -> None:
    page = (ROOT / DOCS_DIR / "resources" / "namespace.md").read_text()
    assert page.startswith('---\npage_title: "weir_namespace Resource - weir"\n')
    assert "# weir_namespace (Resource)" in page
    assert '```terraform\nresource "weir_namespace" "team" {' in page
    required = page.split("### Required")[1].split("###")[0]
    assert "- `name` (String) The namespace, such as `company.team`." in required
    assert "- `revision` (Number)" in page.split("### Read-Only")[1]
    assert "terraform import weir_namespace.team company.team" in page.split("## Import")[1]
    index = (ROOT / DOCS_DIR / "index.md").read_text()
    assert "weir terraform install" in index
    assert "- `token` (String, Sensitive)" in index


def test_check_lists_changed_and_stale_pages_and_writing_fixes_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(ROOT / EXAMPLES_DIR, tmp_path / EXAMPLES_DIR)
    assert main(["--root", str(tmp_path)]) == 0
    page = tmp_path / DOCS_DIR / "resources" / "namespace.md"
    page.write_text(page.read_text().replace("(String)", "(Number)"))
    gone = tmp_path / DOCS_DIR / "resources" / "gone.md"
    gone.write_text("# weir_gone (Resource)\n")
    guide = tmp_path / DOCS_DIR / "guides" / "start.md"
    guide.parent.mkdir()
    guide.write_text("# Getting started\n")
    capsys.readouterr()

    assert main(["--check", "--root", str(tmp_path)]) == 1
    reported = capsys.readouterr().err
    assert COMMAND in reported
    assert f"{DOCS_DIR}/resources/namespace.md" in reported
    assert f"{DOCS_DIR}/resources/gone.md" in reported
    assert SCHEMA_FILE not in reported and "guides" not in reported

    assert main(["--root", str(tmp_path)]) == 0
    assert not gone.exists() and guide.exists()
    assert main(["--check", "--root", str(tmp_path)]) == 0


def test_write_only_nested_and_object_attributes_are_documented(tmp_path: Path) -> None:
    example = tmp_path / "data-sources" / "weir_thing"
    example.mkdir(parents=True)
    (example / "data-source.tf").write_text('data "weir_thing" "one" {}\n')
    block = {
        "description": "A thing.",
        "attributes": {
            "value": {"type": "string", "optional": True, "sensitive": True, "write_only": True},
            "steps": {
                "nested_type": {
                    "nesting_mode": "map",
                    "attributes": {"key": {"type": "string", "required": True}},
                },
                "optional": True,
                "description": "The steps.",
            },
            "owner": {"type": ["object", {"team": "string"}], "computed": True},
        },
    }
    pages = render_docs(_schema_with(data_sources={"weir_thing": block}), tmp_path)
    page = pages["data-sources/thing.md"]

    assert "# weir_thing (Data Source)" in page
    assert '```terraform\ndata "weir_thing" "one" {}\n```' in page
    optional = page.split("### Optional")[1].split("###")[0]
    assert "Write-only arguments" in optional
    assert "- `value` (String, Sensitive, Write-only)" in optional
    assert "- `steps` (Attributes Map) The steps. (see [below" in optional
    assert '<a id="nestedatt--steps"></a>\n### Nested Schema for `steps`' in page
    assert "Required:\n\n- `key` (String)" in page.split("Nested Schema for `steps`")[1]
    assert "Read-Only:\n\n- `team` (String)" in page.split("Nested Schema for `owner`")[1]


def _schema_with(data_sources: dict[str, Any]) -> dict[str, Any]:
    provider = {"block": {"attributes": {}, "description": "Weir."}}
    blocks = {name: {"version": 0, "block": block} for name, block in data_sources.items()}
    weir = {"provider": provider, "data_source_schemas": blocks}
    return {"format_version": "1.0", "provider_schemas": {SOURCE_ADDRESS: weir}}


@pytest.fixture(scope="module")
def mirror(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return offline_environment(tmp_path_factory.mktemp("mirror"))


def _example_dirs() -> list[Path]:
    examples = ROOT / EXAMPLES_DIR
    return sorted({path.parent for path in examples.rglob("*.tf")})


@pytest.mark.parametrize(
    "folder", _example_dirs(), ids=lambda p: p.relative_to(ROOT / EXAMPLES_DIR).as_posix()
)
def test_example_is_formatted_and_valid(
    folder: Path, mirror: dict[str, str], tmp_path: Path
) -> None:
    terraform = Terraform(tmp_path, mirror)
    sources = {path.name: path.read_text() for path in folder.glob("*.tf")}
    if not any("required_providers" in text for text in sources.values()):
        sources["versions.tf"] = VERSIONS
    for name, text in sources.items():
        (tmp_path / name).write_text(text)
    where = folder.relative_to(ROOT)
    formatted = terraform.run("fmt", "-check", "-list=true", ok=(0, 3)).stdout
    assert not formatted.strip(), f"{where}: run terraform fmt on {formatted.split()}"
    terraform.init()
    checked = terraform.run("validate", ok=(0, 1))
    assert checked.returncode == 0, f"{where} is not valid:\n{checked.stderr}"

    imports = folder / "import.sh"
    if imports.is_file():
        for address in re.findall(r"terraform import (\S+)", imports.read_text()):
            kind, _, name = address.partition(".")
            assert re.search(rf'resource "{kind}" "{name}"', "".join(sources.values())), (
                f"{where}/import.sh imports {address}, which its resource.tf does not declare"
            )
