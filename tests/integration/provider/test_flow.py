"""``weir_flow`` driven by the real terraform binary against a live server."""

from __future__ import annotations

import pytest

from controlplane.client import WeirClient
from tests.integration.provider.harness import Terraform, by_terraform

HELLO = """id: hello
namespace: company.flows
description: Says hello
inputs:
  - id: name
    type: STRING
    defaults: world
tasks:
  - id: say
    type: io.kestra.plugin.core.log.Log
    message: "Hello {{ inputs.name }}"
outputs:
  - id: greeting
    type: STRING
    value: "{{ inputs.name }}"
"""

CONFIG = """
resource "weir_flow" "hello" {
  content = file("${path.module}/hello.yaml")
}

output "inputs" { value = weir_flow.hello.inputs }
"""


def test_flow_lifecycle(terraform: Terraform, weir: WeirClient) -> None:
    terraform.write(CONFIG)
    terraform.write(HELLO, "hello.yaml")
    terraform.init()
    terraform.apply()
    found = weir.flows.get("company.flows", "hello")
    assert found.source == HELLO and by_terraform(found.managed_by)
    state = terraform.state()["weir_flow.hello"]
    assert state["id"] == "company.flows/hello" and state["flow_id"] == "hello"
    assert state["inputs"] == [
        {"id": "name", "type": "STRING", "required": True, "description": None}
    ]
    assert state["outputs"] == [{"id": "greeting", "type": "STRING"}]
    assert terraform.plan()[0] == 0

    # Formatting, key order and comments are no change.
    reformatted = (
        "# The same flow, written differently\n"
        "namespace: company.flows\nid: hello\ndescription: 'Says hello'\n"
        "inputs: [{id: name, defaults: world, type: STRING}]\n"
        "tasks:\n- {type: io.kestra.plugin.core.log.Log, id: say, message: 'Hello {{ inputs.name }}'}\n"
        "outputs:\n- id: greeting\n  value: '{{ inputs.name }}'\n  type: STRING\n"
    )
    terraform.write(reformatted, "hello.yaml")
    assert terraform.plan()[0] == 0

    # A change on top of it: the state keeps the text as applied, so Terraform's diff shows
    # every reformatted line, and a warning names the line whose meaning changes.
    terraform.write(reformatted.replace("'Says hello'", "'Says hi'"), "hello.yaml")
    code, text = terraform.plan()
    assert code == 2
    assert "flow company.flows/hello: the source was reformatted since it was applied" in text
    assert 'what changes is:\n- line 4, description: "Says hello" -> "Says hi"\n' in text

    # A real change is a diff of the YAML lines.
    terraform.write(HELLO.replace("Hello {{", "Bonjour {{"), "hello.yaml")
    code, text = terraform.plan()
    assert code == 2 and "reformatted" not in text
    assert '-     message: "Hello {{ inputs.name }}"' in text
    assert '+     message: "Bonjour {{ inputs.name }}"' in text
    terraform.apply()
    assert "Bonjour" in weir.flows.get("company.flows", "hello").source
    assert terraform.plan()[0] == 0

    # Changed outside Terraform: the diff shows it, apply puts it back.
    weir.flows.put(HELLO.replace("Says hello", "edited by hand"), force=True)
    code, text = terraform.plan()
    assert code == 2 and "edited by hand" in text
    terraform.apply()
    assert "Bonjour" in weir.flows.get("company.flows", "hello").source

    # Deleted outside Terraform: planned for creation.
    weir.flows.delete("company.flows", "hello", force=True)
    code, text = terraform.plan()
    assert code == 2 and "1 to add" in text
    terraform.apply()

    terraform.destroy()
    assert [f.id for f in weir.flows.search("company.flows").results] == []


def test_an_invalid_flow_fails_the_plan_with_its_line_and_path(terraform: Terraform) -> None:
    terraform.write(CONFIG)
    terraform.write(
        HELLO.replace("io.kestra.plugin.core.log.Log", "io.kestra.plugin.core.log.Nope"),
        "hello.yaml",
    )
    terraform.init()
    error = terraform.failing("plan", "-input=false")
    assert "flow company.flows/hello is invalid" in error
    assert "line 10, column 5 at tasks[0].type: unknown task type" in error
    assert 'content = file("${path.module}/hello.yaml")' in error  # where in the .tf


def test_a_key_that_contradicts_the_source_is_refused(terraform: Terraform) -> None:
    terraform.write(
        'resource "weir_flow" "hello" {\n  namespace = "company.other"\n'
        '  content = file("${path.module}/hello.yaml")\n}\n'
    )
    terraform.write(HELLO, "hello.yaml")
    terraform.init()
    error = terraform.failing("plan", "-input=false")
    assert "declares namespace: company.flows, but namespace is company.other" in error


def test_flow_import(terraform: Terraform, weir: WeirClient) -> None:
    weir.flows.put(HELLO.replace("id: hello", "id: imported"))
    terraform.write(
        'resource "weir_flow" "imported" {\n  content = file("${path.module}/hello.yaml")\n}\n'
    )
    terraform.write(HELLO.replace("id: hello", "id: imported"), "hello.yaml")
    terraform.init()
    terraform.run("import", "weir_flow.imported", "company.flows/imported")
    # The importer becomes the owner at the next apply, and nothing else changes.
    code, text = terraform.plan()
    assert code == 2 and '+ managed_by = "terraform:config-' in text and "content" not in text
    terraform.apply()
    assert by_terraform(weir.flows.get("company.flows", "imported").managed_by)
    assert terraform.plan()[0] == 0
    error = terraform.failing("import", "weir_flow.imported", "company.flows")
    assert "<namespace>/<flow_id>" in error


@pytest.mark.parametrize("count", [3])
def test_many_flows_in_a_namespace_are_read_together(
    terraform: Terraform, weir: WeirClient, count: int
) -> None:
    body = "".join(
        f'resource "weir_flow" "f{i}" {{\n  content = <<-EOT\n'
        f"    id: f{i}\n    namespace: company.many\n    tasks:\n"
        "      - id: log\n        type: io.kestra.plugin.core.log.Log\n        message: hi\n"
        "  EOT\n}\n"
        for i in range(count)
    )
    terraform.write(body)
    terraform.init()
    terraform.apply()
    assert terraform.plan()[0] == 0
    weir.flows.delete("company.many", "f1", force=True)
    code, text = terraform.plan()
    assert code == 2 and "1 to add" in text
    terraform.destroy()


def test_destroying_a_flow_already_deleted_elsewhere_succeeds(
    terraform: Terraform, weir: WeirClient
) -> None:
    terraform.write(CONFIG)
    terraform.write(HELLO.replace("id: hello", "id: gone_soon"), "hello.yaml")
    terraform.init()
    terraform.apply()
    weir.flows.delete("company.flows", "gone_soon", force=True)
    out = terraform.run("destroy", "-auto-approve", "-input=false", "-refresh=false").stdout
    assert "Destroy complete! Resources: 1 destroyed." in out
