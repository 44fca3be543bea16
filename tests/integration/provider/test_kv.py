"""``weir_kv`` driven by the real terraform binary against a live server."""

from __future__ import annotations

from controlplane.client import WeirClient
from tests.integration.provider.harness import Terraform, by_terraform

CONFIG = """
resource "weir_kv" "region" {
  namespace = "company.team"
  key       = "region"
  value     = "%s"
}

resource "weir_kv" "limit" {
  namespace = "company.team"
  key       = "limit"
  type      = "NUMBER"
  value     = 42
}

resource "weir_kv" "settings" {
  namespace = "company.team"
  key       = "settings"
  type      = "JSON"
  value     = jsonencode({ retries = 3, targets = ["a", "b"], dry_run = false })
}

resource "weir_kv" "every" {
  namespace = "company.team"
  key       = "every"
  type      = "DURATION"
  value     = "PT90M"
  ttl       = "PT1H"
}
"""


def squeeze(text: str) -> str:
    """Plan text with runs of spaces as one: Terraform aligns the ``=`` of a block."""
    return " ".join(text.split())


def test_kv_lifecycle(terraform: Terraform, weir: WeirClient) -> None:
    terraform.write(CONFIG % "eu")
    terraform.init()
    code, text = terraform.plan()
    assert code == 2 and "4 to add" in text, text
    assert '+ type = "STRING"' in squeeze(text) and "+ expires = (known after apply)" in squeeze(
        text
    )

    terraform.apply()
    region = weir.kv.get("company.team", "region")
    assert (region.value, region.type) == ("eu", "STRING") and by_terraform(region.managed_by)
    assert region.expires is None
    limit = weir.kv.get("company.team", "limit")
    assert (limit.value, limit.type) == (42, "NUMBER")
    settings = weir.kv.get("company.team", "settings")
    assert settings.value == {"retries": 3, "targets": ["a", "b"], "dry_run": False}
    every = weir.kv.get("company.team", "every")
    assert (every.value, every.type) == ("PT1H30M", "DURATION")
    assert every.expires is not None
    state = terraform.state()
    assert state["weir_kv.every"]["value"] == "PT90M"
    assert state["weir_kv.every"]["expires"] == every.expires.isoformat()
    assert state["weir_kv.region"]["expires"] is None
    # The server wrote PT90M as PT1H30M: the same duration, so no diff.
    assert terraform.plan()[0] == 0

    terraform.write(CONFIG % "us")
    code, text = terraform.plan()
    assert code == 2 and '~ value = "eu" -> "us"' in squeeze(text) and "1 to change" in text
    terraform.apply()
    assert weir.kv.get("company.team", "region").value == "us"
    assert terraform.plan()[0] == 0

    # Changed outside Terraform: the plan puts value and type back.
    weir.kv.set("company.team", "region", "ap", force=True)
    weir.kv.set("company.team", "limit", "42", force=True)
    code, text = terraform.plan()
    assert code == 2 and '~ value = "ap" -> "us"' in squeeze(text)
    assert '~ type = "STRING" -> "NUMBER"' in squeeze(text) and "2 to change" in text
    terraform.apply()
    assert weir.kv.get("company.team", "region").value == "us"
    assert weir.kv.get("company.team", "limit").type == "NUMBER"

    # Written again outside Terraform with the same meaning: no diff.
    weir.kv.set(
        "company.team",
        "settings",
        {"dry_run": False, "targets": ["a", "b"], "retries": 3.0},
        force=True,
    )
    assert terraform.plan()[0] == 0

    # Deleted outside Terraform: planned for creation.
    weir.kv.delete("company.team", "limit", force=True)
    code, text = terraform.plan()
    assert code == 2 and "1 to add" in text
    terraform.apply()
    assert weir.kv.get("company.team", "limit").value == 42

    terraform.destroy()
    assert weir.kv.list("company.team") == []


def test_kv_import(terraform: Terraform, weir: WeirClient) -> None:
    weir.kv.set("company.imported", "threshold", 0.5)
    weir.kv.set("company.imported", "flags", {"b": [1, 2], "a": True})
    terraform.write(
        """
resource "weir_kv" "threshold" {
  namespace = "company.imported"
  key       = "threshold"
  type      = "NUMBER"
  value     = 0.5
}

resource "weir_kv" "flags" {
  namespace = "company.imported"
  key       = "flags"
  type      = "JSON"
  value     = jsonencode({ a = true, b = [1, 2] })
}
"""
    )
    terraform.init()
    terraform.run("import", "weir_kv.threshold", "company.imported/threshold")
    terraform.run("import", "weir_kv.flags", "company.imported/flags")
    code, text = terraform.plan()
    assert code == 0, text
    state = terraform.state()
    assert state["weir_kv.threshold"]["value"] == "0.5"
    assert state["weir_kv.threshold"]["id"] == "company.imported/threshold"


def test_kv_configuration_errors_name_the_attribute(terraform: Terraform) -> None:
    terraform.write(
        """
resource "weir_kv" "bad_type" {
  namespace = "company.team"
  key       = "a"
  type      = "NUMBERS"
  value     = "1"
}

resource "weir_kv" "bad_ttl" {
  namespace = "company.team"
  key       = "b"
  value     = "x"
  ttl       = "1 hour"
}

resource "weir_kv" "bad_json" {
  namespace = "company.team"
  key       = "c"
  type      = "JSON"
  value     = "{not json"
}

resource "weir_kv" "bad_key" {
  namespace = "company.team"
  key       = "-starts-with-a-dash"
  type      = "BOOLEAN"
  value     = "yes"
}
"""
    )
    terraform.init()
    error = terraform.failing("plan", "-input=false")
    assert "type 'NUMBERS' is not a KV type" in error and 'type      = "NUMBERS"' in error
    assert "ttl '1 hour' is not a positive ISO 8601 duration" in error
    assert 'ttl       = "1 hour"' in error
    assert "value is not a JSON" in error and 'value     = "{not json"' in error
    assert "key '-starts-with-a-dash' is not valid" in error
    assert "value is not a BOOLEAN" in error and '"true" or "false"' in error

    terraform.write(
        'resource "weir_kv" "absent" {\n  namespace = "company.team"\n  key = "absent"\n  value = "x"\n}\n'
    )
    error = terraform.failing("import", "weir_kv.absent", "company.team/absent")
    assert "KV pair absent of namespace company.team" in error and "does not exist" in error
