"""What a flow's plan shows: an unchanged interface is known at plan time, a new one too."""

from __future__ import annotations

from controlplane.client import WeirClient
from tests.integration.provider.harness import Terraform

CONFIG = """
resource "weir_flow" "f" {
  content = <<-EOT
    id: report
    namespace: plans.team
    inputs:
      - id: day
        type: DATE
        description: The day to report on.
%s
    tasks:
      - id: log
        type: io.kestra.plugin.core.log.Log
        message: "%s"
  EOT
}

output "inputs" {
  value = weir_flow.f.inputs
}
"""


def test_an_unchanged_interface_is_no_change_and_a_new_input_is_known(
    terraform: Terraform, weir: WeirClient
) -> None:
    terraform.write(CONFIG % ("", "first"))
    terraform.init()
    code, text = terraform.plan()
    assert code == 2 and "(known after apply)" in text  # the id's revision, not the inputs
    assert 'description = "The day to report on."' in text
    terraform.apply()

    terraform.write(CONFIG % ("", "second"))
    code, text = terraform.plan()
    assert code == 2
    assert "~ inputs" not in text and "~ outputs" not in text
    assert text.count("(known after apply)") == 1  # the revision alone

    extra = "      - id: region\n        type: STRING\n        required: false"
    terraform.write(CONFIG % (extra, "second"))
    code, text = terraform.plan()
    assert code == 2 and '+ id          = "region"' in text
    terraform.apply()
    assert [i.id for i in weir.flows.get("plans.team", "report").inputs] == ["day", "region"]
    assert terraform.plan()[0] == 0
