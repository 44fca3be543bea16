"""``weir_namespace`` driven by the real terraform binary against a live server."""

from __future__ import annotations

from controlplane.client import WeirClient
from tests.integration.provider.harness import Terraform, by_terraform

CONFIG = """
resource "weir_namespace" "team" {
  name        = "company.team"
  description = "%s"
  variables   = { region = "eu" }
  labels      = { owner = "data" }
}
"""


def test_namespace_lifecycle(terraform: Terraform, weir: WeirClient) -> None:
    terraform.write(CONFIG % "The team")
    terraform.init()
    code, text = terraform.plan()
    assert code == 2 and "1 to add" in text

    terraform.apply()
    found = weir.namespaces.get("company.team")
    assert found.description == "The team"
    assert found.variables == {"region": "eu"}
    assert by_terraform(found.managed_by)
    assert terraform.plan()[0] == 0

    terraform.write(CONFIG % "The data team")
    code, text = terraform.plan()
    assert code == 2 and '~ description = "The team" -> "The data team"' in text
    terraform.apply()
    assert weir.namespaces.get("company.team").description == "The data team"
    assert terraform.plan()[0] == 0

    # Changed outside Terraform: the plan puts it back.
    weir.namespaces.put(
        "company.team", description="edited", variables={"region": "eu"}, labels={}, force=True
    )
    code, text = terraform.plan()
    assert code == 2 and '~ description = "edited" -> "The data team"' in text
    terraform.apply()
    assert weir.namespaces.get("company.team").labels == {"owner": "data"}

    # Deleted outside Terraform: it leaves the state and is planned for creation.
    weir.namespaces.delete("company.team", force=True)
    code, text = terraform.plan()
    assert code == 2 and "1 to add" in text
    terraform.apply()
    assert weir.namespaces.get("company.team").revision >= 1

    terraform.destroy()
    assert [n.name for n in weir.namespaces.list().results if n.name == "company.team"] == []


def test_namespace_import(terraform: Terraform, weir: WeirClient) -> None:
    weir.namespaces.put("company.imported", description="made by hand", variables={"a": "1"})
    terraform.write(
        """
resource "weir_namespace" "imported" {
  name        = "company.imported"
  description = "made by hand"
  variables   = { a = "1" }
}
"""
    )
    terraform.init()
    terraform.run("import", "weir_namespace.imported", "company.imported")
    assert terraform.plan()[0] == 0
    state = terraform.state()["weir_namespace.imported"]
    assert state["variables"] == {"a": "1"}


def test_importing_a_missing_namespace_says_so(terraform: Terraform) -> None:
    terraform.write('resource "weir_namespace" "absent" { name = "company.absent" }')
    terraform.init()
    error = terraform.failing("import", "weir_namespace.absent", "company.absent")
    assert "namespace company.absent" in error and "does not exist" in error


def test_the_provider_logs_into_terraforms_log_and_exits_when_asked(
    terraform: Terraform,
) -> None:
    terraform.write('resource "weir_namespace" "logged" { name = "company.logged" }')
    terraform.init()
    terraform.env = {**terraform.env, "TF_LOG": "DEBUG"}
    log = terraform.run("apply", "-auto-approve", "-input=false").stderr
    assert "[DEBUG] provider.terraform-provider-weir_v0.1.0: creating weir_namespace" in log
    assert "plugin exited" in log and "failed to exit gracefully" not in log
    terraform.env = {k: v for k, v in terraform.env.items() if k != "TF_LOG"}
    terraform.destroy()


def test_allowed_namespaces_open_the_wall_and_an_unset_one_is_no_diff(
    terraform: Terraform, weir: WeirClient
) -> None:
    terraform.write(
        """
resource "weir_namespace" "shared" {
  name               = "company.shared"
  allowed_namespaces = ["company.team", "partners"]
}
resource "weir_namespace" "closed" {
  name = "company.closed"
}
"""
    )
    terraform.init()
    terraform.apply()
    assert weir.namespaces.get("company.shared").allowed_namespaces == ("company.team", "partners")
    assert weir.namespaces.get("company.closed").allowed_namespaces == ()
    assert terraform.plan()[0] == 0
    weir.namespaces.put("company.shared", allowed_namespaces=["*"], force=True)
    code, text = terraform.plan()
    assert code == 2 and '"*"' in text and '"company.team"' in text
