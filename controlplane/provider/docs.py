"""The provider's schema as Terraform sees it, and the Registry documentation made from it.

    python -m controlplane.provider.docs [--check] [--root DIR]

Both are generated and checked in. ``terraform/provider-schema/weir.json`` is what
``terraform providers schema -json`` prints for the installed provider (keys sorted, indented, so
that a change to a schema reads as a small diff). ``docs/`` holds the pages in the layout the
Terraform Registry reads (``index.md``, ``resources/<name>.md``, ``data-sources/<name>.md``; the
other pages there, such as ``api.md``, are not generated and are left alone),
written in the style of HashiCorp's tfplugindocs from that same JSON, so a page says exactly what
Terraform was told, not what the Python meant to declare. Examples come from
``terraform/examples/``: ``provider/provider.tf``, ``resources/<type>/resource.tf`` and
``import.sh``, ``data-sources/<type>/data-source.tf``; a page without one simply has no such
section.

The real ``terraform`` binary is run offline against a private filesystem mirror, with no server.
``--check`` regenerates everything and exits 1, listing the files that differ, when the checked-in
ones are out of date; a test does the same.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from controlplane.errors import WeirError
from controlplane.provider.install import offline_environment
from controlplane.provider.provider import SOURCE_ADDRESS

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_FILE = "terraform/provider-schema/weir.json"
DOCS_DIR = "docs"
EXAMPLES_DIR = "terraform/examples"
# Only these parts of DOCS_DIR are generated; anything else there (guides) is left alone.
GENERATED_DOC_DIRS = ("resources", "data-sources")
COMMAND = "python -m controlplane.provider.docs"
PROVIDER_NAME = "weir"

_CONFIG = """terraform {
  required_providers {
    weir = { source = "weir/weir" }
  }
}
"""
_WRITE_ONLY_NOTE = (
    "> **NOTE**: [Write-only arguments](https://developer.hashicorp.com/terraform/language/"
    "resources/ephemeral#write-only-arguments) are supported in Terraform 1.11 and later."
)
_INSTALLATION = """## Installation

The provider ships with Weir instead of being downloaded from a registry. On the machine that \
runs Terraform, in the Python environment where Weir is installed:

```shell
weir terraform install
```

This puts the provider in Terraform's implied local mirror (`~/.terraform.d/plugins`), where \
`terraform init` finds `source = "weir/weir"` without a network. When your CLI configuration \
declares a `filesystem_mirror`, install into its path instead: \
`weir terraform install --dir <path>`. The provider runs with that environment's Python, so \
install it again after recreating the environment or upgrading Weir, then run \
`terraform init -upgrade`: the dependency lock file records the installed provider's checksum."""
_ABOUT = """Weir is a declarative workflow orchestrator that runs Kestra flows. The provider \
talks to a Weir server through its HTTP API, exactly as any other client does. Every object it \
writes is recorded as managed by `terraform`: the server then refuses changes to it from other \
writers (the API, a GitOps reconciler) unless they force them, and `terraform plan` shows any \
change made outside Terraform as a difference to put back.

Terraform creates only what does not exist yet. A create that meets an object the server already \
holds (loaded with `weir server standalone --load`, written through the API or by GitOps) fails \
and says what exists (its revision and who manages it) and the two ways out: adopt it with an \
`import` block or `terraform import`, or delete it on the server. A namespace is deleted only \
once it holds nothing: a destroy that meets flows, secrets, KV pairs or files left in it names \
them, to be deleted (or destroyed with the resources that declare them) first."""


class DocsError(WeirError):
    """Terraform could not produce the schema the documentation is made from."""

    code = "provider_docs"


def dump_schema(workdir: Path) -> dict[str, Any]:
    """``terraform providers schema -json`` for this Weir's provider, parsed; ``workdir`` holds
    the private mirror and the configuration it needs."""
    env = offline_environment(workdir)
    config = workdir / "schema"
    config.mkdir(parents=True, exist_ok=True)
    (config / "main.tf").write_text(_CONFIG)
    _terraform(config, env, "init", "-input=false", "-no-color")
    schema: dict[str, Any] = json.loads(_terraform(config, env, "providers", "schema", "-json"))
    return schema


def _terraform(cwd: Path, env: dict[str, str], *args: str) -> str:
    try:
        done = subprocess.run(
            ["terraform", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
        )
    except FileNotFoundError:
        raise DocsError(
            "terraform was not found on PATH; install Terraform 1.11 or later to generate the "
            "provider's schema and docs"
        ) from None
    if done.returncode != 0:
        raise DocsError(
            f"terraform {' '.join(args)} exited {done.returncode} in {cwd}:\n"
            f"{done.stderr.strip() or done.stdout.strip()}"
        )
    return done.stdout


def schema_text(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def generated_files(schema: dict[str, Any], root: Path = ROOT) -> dict[str, str]:
    """Every generated file by its path relative to ``root``, with its content; the examples
    are read from ``root``."""
    files = {SCHEMA_FILE: schema_text(schema)}
    for page, text in render_docs(schema, root / EXAMPLES_DIR).items():
        files[f"{DOCS_DIR}/{page}"] = text
    return files


def render_docs(schema: dict[str, Any], examples: Path) -> dict[str, str]:
    """The Registry pages, by path relative to the docs directory."""
    try:
        provider = schema["provider_schemas"][SOURCE_ADDRESS]
    except KeyError:
        raise DocsError(f"the schema has no provider {SOURCE_ADDRESS}") from None
    pages = {"index.md": _index_page(provider["provider"]["block"], examples / "provider")}
    kinds = (
        ("resource_schemas", "resources", "Resource", "resource.tf"),
        ("data_source_schemas", "data-sources", "Data Source", "data-source.tf"),
    )
    for key, folder, kind, example in kinds:
        for type_name, type_schema in sorted(provider.get(key, {}).items()):
            name = type_name.removeprefix(f"{PROVIDER_NAME}_")
            pages[f"{folder}/{name}.md"] = _type_page(
                type_name, kind, type_schema["block"], examples / folder / type_name, example
            )
    return pages


def _index_page(block: dict[str, Any], examples: Path) -> str:
    description = block.get("description", "")
    parts = [
        _front_matter(f"{PROVIDER_NAME} Provider", description),
        f"# {PROVIDER_NAME} Provider",
        description,
        _ABOUT,
        _INSTALLATION,
    ]
    example = _read(examples / "provider.tf")
    if example is not None:
        parts.append(_example(example))
    parts.append(_schema_section(f"the {PROVIDER_NAME} provider", block))
    return _join(parts)


def _type_page(
    type_name: str, kind: str, block: dict[str, Any], examples: Path, example_file: str
) -> str:
    description = block.get("description", "")
    parts = [
        _front_matter(f"{type_name} {kind} - {PROVIDER_NAME}", description),
        f"# {type_name} ({kind})",
        description,
    ]
    example = _read(examples / example_file)
    if example is not None:
        parts.append(_example(example))
    parts.append(_schema_section(type_name, block))
    imports = _read(examples / "import.sh")
    if imports is not None:
        parts.append(
            "## Import\n\nImport is supported using the following syntax:\n\n"
            f"```shell\n{imports.rstrip()}\n```"
        )
    return _join(parts)


def _front_matter(title: str, description: str) -> str:
    lines = [f"  {line}" if line else "" for line in description.strip().splitlines()]
    return "\n".join(
        ["---", f'page_title: "{title}"', 'subcategory: ""', "description: |-", *lines, "---"]
    )


def _example(text: str) -> str:
    return f"## Example Usage\n\n```terraform\n{text.rstrip()}\n```"


def _read(path: Path) -> str | None:
    return path.read_text() if path.is_file() else None


def _join(parts: Sequence[str]) -> str:
    return "\n\n".join(part.strip("\n") for part in parts if part.strip()) + "\n"


# The "Schema" section: attributes grouped as Required / Optional / Read-Only, then one
# "Nested Schema for `x`" section per attribute holding objects, each with the same groups.

_GROUPS = ("Required", "Optional", "Read-Only")
_NESTING = {
    "single": "Attributes",
    "list": "Attributes List",
    "set": "Attributes Set",
    "map": "Attributes Map",
}
_PRIMITIVES = {"string": "String", "number": "Number", "bool": "Boolean", "dynamic": "Dynamic"}
_COLLECTIONS = {"list": "List", "set": "Set", "map": "Map"}
_FLAGS = (("sensitive", "Sensitive"), ("write_only", "Write-only"), ("deprecated", "Deprecated"))


def _schema_section(owner: str, block: dict[str, Any]) -> str:
    if block.get("block_types"):
        names = ", ".join(sorted(block["block_types"]))
        raise DocsError(
            f"{owner} has nested blocks ({names}), which the docs do not render; "
            "declare them as nested attributes"
        )
    pending: list[tuple[list[str], dict[str, Any]]] = []
    lines = ["## Schema"]
    for group, members in _grouped(block.get("attributes", {})):
        lines += ["", f"### {group}", ""]
        lines += _group_lines(members, [], pending)
    while pending:
        path, inner = pending.pop(0)
        lines += ["", f'<a id="{_anchor(path)}"></a>', f"### Nested Schema for `{'.'.join(path)}`"]
        for group, members in _grouped(inner):
            lines += ["", f"{group}:", ""]
            lines += _group_lines(members, path, pending)
    return "\n".join(lines)


def _grouped(attributes: dict[str, Any]) -> Iterator[tuple[str, list[tuple[str, Any]]]]:
    """The attributes in the groups a reader looks for, each sorted by name."""
    members: dict[str, list[tuple[str, Any]]] = {group: [] for group in _GROUPS}
    for name, attribute in sorted(attributes.items()):
        members[_group(attribute)].append((name, attribute))
    for group in _GROUPS:
        if members[group]:
            yield group, members[group]


def _group(attribute: dict[str, Any]) -> str:
    if attribute.get("required"):
        return "Required"
    if attribute.get("optional"):
        return "Optional"
    return "Read-Only"


def _group_lines(
    attributes: list[tuple[str, Any]],
    parent: list[str],
    pending: list[tuple[list[str], dict[str, Any]]],
) -> list[str]:
    """One bullet per attribute; those holding objects are queued for a nested section."""
    lines = [_WRITE_ONLY_NOTE, ""] if any(a.get("write_only") for _, a in attributes) else []
    for name, attribute in attributes:
        path = [*parent, name]
        inner = _inner_attributes(attribute)
        flags = [_type_label(attribute)]
        flags += [flag for key, flag in _FLAGS if attribute.get(key)]
        line = f"- `{name}` ({', '.join(flags)})"
        description = attribute.get("description", "").strip()
        if description:
            line += " " + description.replace("\n", "\n  ")
        if inner is not None:
            line += f" (see [below for nested schema](#{_anchor(path)}))"
            pending.append((path, inner))
        lines.append(line)
    return lines


def _type_label(attribute: dict[str, Any]) -> str:
    nested = attribute.get("nested_type")
    if nested is not None:
        return _NESTING[nested.get("nesting_mode", "single")]
    return _type_name(attribute["type"])


def _type_name(type_: Any) -> str:
    if isinstance(type_, str):
        return _PRIMITIVES.get(type_, type_.capitalize())
    kind = type_[0]
    if kind in _COLLECTIONS:
        return f"{_COLLECTIONS[kind]} of {_type_name(type_[1])}"
    return str(kind).capitalize()


def _inner_attributes(attribute: dict[str, Any]) -> dict[str, Any] | None:
    """What a nested section lists: the nested attributes, or the fields of an object type
    (which take the group of the attribute that holds them)."""
    nested = attribute.get("nested_type")
    if nested is not None:
        inner: dict[str, Any] = nested.get("attributes", {})
        return inner
    type_ = attribute["type"]
    while isinstance(type_, list) and type_[0] in _COLLECTIONS:
        type_ = type_[1]
    if not (isinstance(type_, list) and type_[0] == "object"):
        return None
    group = {"Required": "required", "Optional": "optional", "Read-Only": "computed"}
    flag = group[_group(attribute)]
    return {name: {"type": field, flag: True} for name, field in type_[1].items()}


def _anchor(path: list[str]) -> str:
    return "nestedatt--" + "--".join(path)


# Writing and checking.


def differences(files: dict[str, str], root: Path = ROOT) -> list[str]:
    """Paths (relative to ``root``) that differ from ``files``: changed, missing, or stale
    generated pages that no longer have a resource."""
    changed = [path for path, text in files.items() if _read(root / path) != text]
    stale = [path for path in _existing_pages(root) if path not in files]
    return sorted(changed + stale)


def write(files: dict[str, str], root: Path = ROOT) -> list[str]:
    """Write ``files`` under ``root`` and remove stale generated pages; the paths changed."""
    changed = differences(files, root)
    for path in changed:
        target = root / path
        if path not in files:
            target.unlink()
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(files[path])
    return changed


def _existing_pages(root: Path) -> list[str]:
    docs = root / DOCS_DIR
    found = [docs / "index.md"] if (docs / "index.md").is_file() else []
    for folder in GENERATED_DOC_DIRS:
        found += sorted((docs / folder).glob("*.md"))
    return [path.relative_to(root).as_posix() for path in found]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 if any file is out of date"
    )
    parser.add_argument(
        "--root", type=Path, default=ROOT, help="the repository (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    try:
        with tempfile.TemporaryDirectory(prefix="weir-provider-docs-") as workdir:
            files = generated_files(dump_schema(Path(workdir)), args.root)
    except DocsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if not args.check:
        for path in write(files, args.root):
            print(path)
        return 0
    stale = differences(files, args.root)
    if stale:
        print("out of date (regenerate with: " + COMMAND + "):", file=sys.stderr)
        for path in stale:
            print(f"  {path}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
