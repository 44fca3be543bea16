"""Generate ``bindings.py``: one CDKTF construct class per resource and data source of the
provider, read from ``terraform/provider-schema/weir.json`` (what Terraform itself was told).

    python -m controlplane.provider.cdktf.generate [--check]

Each class takes the configurable attributes as typed keyword arguments (a name that is a Python
keyword or is taken by the CDKTF base class gets a trailing ``_``) and offers every attribute as
a property that returns a Terraform reference (``${weir_flow.x.revision}``), so that one
construct can refer to another and Terraform orders them.
"""

from __future__ import annotations

import argparse
import json
import keyword
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]
SCHEMA = ROOT / "terraform" / "provider-schema" / "weir.json"
BINDINGS = Path(__file__).with_name("bindings.py")
SOURCE = "registry.terraform.io/weir/weir"
# Names the CDKTF base classes use for their own members.
RESERVED = {"id", "count", "provider", "lifecycle", "node", "fqn", "depends_on", "for_each"}

HEADER = '''"""CDKTF constructs for the weir provider, generated from
terraform/provider-schema/weir.json by ``python -m controlplane.provider.cdktf.generate``; do not
edit."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

try:
    import cdktf
except ImportError:  # CDK Terrain, the community continuation of CDKTF
    import cdktn as cdktf  # type: ignore[no-redef]
from constructs import Construct

_METADATA = cdktf.TerraformProviderGeneratorMetadata(provider_name="weir")


def _present(config: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in config.items() if value is not None}
'''


def python_type(attribute: dict[str, Any]) -> str:
    if "nested_type" in attribute:
        nested = attribute["nested_type"]
        return (
            "Mapping[str, Any]"
            if nested["nesting_mode"] == "single"
            else ("Sequence[Mapping[str, Any]]")
        )
    return _type(attribute["type"])


def _type(kind: Any) -> str:
    if kind == "string":
        return "str"
    if kind == "number":
        return "float"
    if kind == "bool":
        return "bool"
    if isinstance(kind, list) and kind[0] in ("list", "set"):
        return f"Sequence[{_type(kind[1])}]"
    if isinstance(kind, list) and kind[0] == "map":
        return f"Mapping[str, {_type(kind[1])}]"
    return "Any"


def getter(name: str, attribute: dict[str, Any]) -> tuple[str, str]:
    """The expression a property returns, and its type."""
    kind = attribute.get("type")
    if kind == "string":
        return f'self.get_string_attribute("{name}")', "str"
    if kind == "number":
        return f'self.get_number_attribute("{name}")', "float"
    if kind == "bool":
        return f'self.get_boolean_attribute("{name}")', "Any"
    if kind in (["list", "string"], ["set", "string"]):
        return f'self.get_list_attribute("{name}")', "list[str]"
    if kind == ["map", "string"]:
        return f'self.get_string_map_attribute("{name}")', "Mapping[str, str]"
    return f'self.interpolation_for_attribute("{name}")', "Any"


def python_name(name: str) -> str:
    return f"{name}_" if keyword.iskeyword(name) or name in RESERVED else name


def class_name(type_name: str, prefix: str = "") -> str:
    words = type_name.removeprefix("weir_").split("_")
    return prefix + "".join(word.capitalize() for word in words)


def render_class(
    type_name: str, schema: dict[str, Any], base: str, name: str, extra: Sequence[str]
) -> str:
    block = schema["block"]
    attributes: dict[str, dict[str, Any]] = block.get("attributes", {})
    configurable = {
        k: v for k, v in sorted(attributes.items()) if v.get("required") or v.get("optional")
    }
    required = [k for k, v in configurable.items() if v.get("required")]
    optional = [k for k in configurable if k not in required]
    params = [f"{python_name(k)}: {python_type(configurable[k])}" for k in required]
    params += [f"{python_name(k)}: {python_type(configurable[k])} | None = None" for k in optional]
    params += [f"{e}: Any = None" for e in extra]
    description = block.get("description", "").replace('"""', "'''")
    lines = [
        "",
        "",
        f"class {name}(cdktf.{base}):",
        f'    """{description}"""',
        "",
        f'    TF_TYPE = "{type_name}"',
        "",
        "    def __init__(",
        "        self,",
        "        scope: Construct,",
        "        id: str,",
        "        *,",
        *[f"        {p}," for p in params],
        "    ) -> None:",
        "        super().__init__(",
        "            scope,",
        "            id,",
        f'            terraform_resource_type="{type_name}",',
        "            terraform_generator_metadata=_METADATA,",
        *[f"            {e}={e}," for e in extra],
        "        )",
        "        self._config = {",
        *[f'            "{k}": {python_name(k)},' for k in configurable],
        "        }",
        "",
        "    def _synthesize_attributes(self) -> dict[str, Any]:",
        "        return _present(self._config)",
    ]
    for attribute_name, attribute in sorted(attributes.items()):
        expression, returns = getter(attribute_name, attribute)
        prop = "tf_id" if attribute_name == "id" else python_name(attribute_name)
        lines += ["", "    @property", f"    def {prop}(self) -> {returns}:"]
        lines += [f"        return {expression}  # type: ignore[no-any-return]"]
    return "\n".join(lines)


def render_provider(schema: dict[str, Any]) -> str:
    attributes = schema["block"].get("attributes", {})
    params = [
        f"{python_name(k)}: {python_type(v)} | None = None" for k, v in sorted(attributes.items())
    ]
    return "\n".join(
        [
            "",
            "",
            "class WeirProvider(cdktf.TerraformProvider):",
            '    """The weir provider block (endpoint, token: WEIR_URL, WEIR_TOKEN)."""',
            "",
            "    def __init__(",
            "        self,",
            "        scope: Construct,",
            "        id: str,",
            "        *,",
            *[f"        {p}," for p in params],
            "        alias: str | None = None,",
            "    ) -> None:",
            "        super().__init__(",
            "            scope,",
            "            id,",
            '            terraform_resource_type="weir",',
            "            terraform_generator_metadata=_METADATA,",
            '            terraform_provider_source="weir/weir",',
            "        )",
            "        self._config = {",
            *[f'            "{k}": {python_name(k)},' for k in sorted(attributes)],
            '            "alias": alias,',
            "        }",
            "",
            "    def _synthesize_attributes(self) -> dict[str, Any]:",
            "        return _present(self._config)",
        ]
    )


def render(schema_json: dict[str, Any]) -> str:
    provider = schema_json["provider_schemas"][SOURCE]
    resource_extra = ("provider", "depends_on", "count", "for_each", "lifecycle")
    data_extra = ("provider", "depends_on", "count", "for_each")
    parts = [HEADER, render_provider(provider["provider"])]
    for type_name, schema in sorted(provider.get("resource_schemas", {}).items()):
        parts.append(
            render_class(
                type_name, schema, "TerraformResource", class_name(type_name), resource_extra
            )
        )
    for type_name, schema in sorted(provider.get("data_source_schemas", {}).items()):
        parts.append(
            render_class(
                type_name,
                schema,
                "TerraformDataSource",
                class_name(type_name, "DataWeir"),
                data_extra,
            )
        )
    return "\n".join(parts) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when bindings.py is stale")
    args = parser.parse_args(argv)
    text = render(json.loads(SCHEMA.read_text()))
    if args.check:
        if BINDINGS.read_text() != text:
            print(f"{BINDINGS} is stale: run python -m controlplane.provider.cdktf.generate")
            return 1
        return 0
    BINDINGS.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
