"""Ownership per state: what a state writes is managed by ``terraform:<its id>``; a second state
is refused naming both; moving takes an explicit take_over; a forced takeover or someone else's
write is drift in the owner's next plan; an import makes the importer the owner."""

from __future__ import annotations

import re
from pathlib import Path

from controlplane.client import WeirClient
from tests.integration.provider.harness import Terraform

FLOW = """id: {id}
namespace: owners.team
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: {message}
"""


def config(flow_id: str, message: str = "hello", provider: str = "", extra: str = "") -> str:
    return f"""
{provider}
resource "weir_flow" "f" {{
  content = <<-EOT
{FLOW.format(id=flow_id, message=message)}  EOT
}}
{extra}
"""


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_two_states_claiming_one_flow_and_moving_it_between_them(
    terraform: Terraform, tf_env: dict[str, str], tmp_path: Path, weir: WeirClient
) -> None:
    terraform.write(config("shared"))
    terraform.init()
    terraform.apply()
    owner_a = weir.flows.get("owners.team", "shared").managed_by
    assert owner_a is not None and re.fullmatch(r"terraform:config-[0-9a-f]{8}", owner_a)
    assert terraform.state()["weir_flow.f"]["managed_by"] == owner_a
    assert terraform.plan()[0] == 0

    other = Terraform(tmp_path / "other", tf_env)
    import_block = 'import {\n  to = weir_flow.f\n  id = "owners.team/shared"\n}'
    other.write(config("shared", extra=import_block))
    other.init()
    code, text = other.plan()
    assert code == 2
    owner_b = re.search(
        r'managed_by\s+= "terraform:config-[0-9a-f]{8}" -> "(terraform:[^"]+)"', text
    )
    assert owner_b is not None, text
    assert re.fullmatch(r"terraform:other-[0-9a-f]{8}", owner_b.group(1))

    # The second state is refused, naming both owners and the way to move the flow.
    error = flat(other.failing("apply", "-auto-approve", "-input=false"))
    assert f"is managed by '{owner_a}', not by '{owner_b.group(1)}'" in error
    assert f'take_over = ["{owner_a}"] in the provider block' in error
    assert weir.flows.get("owners.team", "shared").managed_by == owner_a

    # Moving it: the second state takes it over explicitly...
    take = f'provider "weir" {{\n  take_over = ["{owner_a}"]\n}}'
    other.write(config("shared", provider=take, extra=import_block))
    other.apply()
    assert weir.flows.get("owners.team", "shared").managed_by == owner_b.group(1)
    # ...and the first state's next plan shows it as drift.
    code, text = terraform.plan()
    assert code == 2
    assert f'~ managed_by = "{owner_b.group(1)}" -> "{owner_a}"' in text


def test_a_forced_takeover_with_the_same_source_is_drift(
    terraform: Terraform, weir: WeirClient
) -> None:
    terraform.write(config("taken"))
    terraform.init()
    terraform.apply()
    owner = weir.flows.get("owners.team", "taken").managed_by
    with WeirClient(weir.url, manager="gitops:elsewhere", retries=0) as gitops:
        source = gitops.flows.get("owners.team", "taken").source
        gitops.flows.put(source, namespace="owners.team", flow_id="taken", force=True)
    code, text = terraform.plan()
    assert code == 2
    assert f'~ managed_by = "gitops:elsewhere" -> "{owner}"' in text
    error = flat(terraform.failing("apply", "-auto-approve", "-input=false"))
    assert f"is managed by 'gitops:elsewhere', not by '{owner}'" in error

    # A write by hand (no manager, forced) leaves it unmanaged: the owner's apply takes it back.
    weir.flows.put(
        source.replace("hello", "by hand"), namespace="owners.team", flow_id="taken", force=True
    )
    code, text = terraform.plan()
    assert code == 2, text
    assert f'+ managed_by = "{owner}"' in text
    terraform.apply()
    found = weir.flows.get("owners.team", "taken")
    assert found.managed_by == owner and "by hand" not in found.source


def test_an_import_records_the_importer_and_an_owner_can_be_named(
    terraform: Terraform, weir: WeirClient
) -> None:
    weir.flows.put(FLOW.format(id="adopted", message="hello"))
    assert weir.flows.get("owners.team", "adopted").managed_by is None
    provider = 'provider "weir" {\n  owner = "data-prod"\n}'
    block = 'import {\n  to = weir_flow.f\n  id = "owners.team/adopted"\n}'
    terraform.write(config("adopted", provider=provider, extra=block))
    terraform.init()
    out = terraform.apply()
    assert "1 imported, 0 added, 1 changed, 0 destroyed" in out
    assert weir.flows.get("owners.team", "adopted").managed_by == "terraform:data-prod"
    assert terraform.plan()[0] == 0
