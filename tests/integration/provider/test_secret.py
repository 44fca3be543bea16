"""``weir_secret`` driven by the real terraform binary against a live server: the value reaches
Weir and is never in the state, the plan or any output."""

from __future__ import annotations

from controlplane.client import WeirClient
from tests.integration.provider.harness import Terraform, by_terraform

FIRST = "first-Sup3r-s3cret-4a1f"
SECOND = "second-Sup3r-s3cret-7c2e"
LITERAL = "literal-Sup3r-s3cret-9d0b"
SECRETS = (FIRST, SECOND, LITERAL)

CONFIG = """
variable "secret" {
  type      = string
  sensitive = true
}

resource "weir_secret" "db" {
  namespace        = "company.team"
  name             = "DB_PASSWORD"
  value_wo         = var.secret
  value_wo_version = %d
}

resource "weir_secret" "api" {
  namespace = "company.team"
  name      = "API_KEY"
  value_wo  = "%s"
}
"""


class Session:
    """Terraform commands with the secret passed by ``-var``, every output kept to be searched
    for secret values."""

    def __init__(self, terraform: Terraform) -> None:
        self.terraform = terraform
        self.outputs: list[str] = []

    def run(self, *args: str, secret: str, ok: tuple[int, ...] = (0,)) -> tuple[int, str]:
        done = self.terraform.run(*args, "-input=false", "-var", f"secret={secret}", ok=ok)
        self.outputs.append(done.stdout + done.stderr)
        return done.returncode, done.stdout + done.stderr

    def plan(self, secret: str) -> tuple[int, str]:
        return self.run("plan", "-detailed-exitcode", secret=secret, ok=(0, 2))

    def apply(self, secret: str) -> str:
        return self.run("apply", "-auto-approve", secret=secret)[1]

    def assert_no_secret_anywhere(self) -> None:
        shown = self.terraform.run("show", "-json").stdout
        self.outputs.append(shown)
        for text in [*self.outputs, self.terraform.state_text()]:
            for value in SECRETS:
                assert value not in text
        for values in self.terraform.state().values():
            assert values["value_wo"] is None


def fingerprint_of(weir: WeirClient, value: str) -> str:
    """The server's fingerprint of ``value``, written under another name: the fingerprint is a
    keyed hash, the same for the same value on the same server."""
    return weir.secrets.set("company.probe", "PROBE", value).fingerprint


def test_secret_lifecycle(terraform: Terraform, weir: WeirClient) -> None:
    session = Session(terraform)
    terraform.write(CONFIG % (1, LITERAL))
    terraform.init()
    code, text = session.plan(FIRST)
    assert code == 2 and "2 to add" in text

    session.apply(FIRST)
    db = weir.secrets.get("company.team", "DB_PASSWORD")
    assert by_terraform(db.managed_by)
    assert db.fingerprint == fingerprint_of(weir, FIRST)
    api = weir.secrets.get("company.team", "API_KEY")
    assert api.fingerprint == fingerprint_of(weir, LITERAL)
    assert terraform.state()["weir_secret.db"]["fingerprint"] == db.fingerprint
    assert session.plan(FIRST)[0] == 0

    # A new value alone plans nothing (Terraform cannot compare write-only values); a new
    # value_wo_version writes it.
    assert session.plan(SECOND)[0] == 0
    terraform.write(CONFIG % (2, LITERAL))
    code, text = session.plan(SECOND)
    assert code == 2 and "~ value_wo_version = 1 -> 2" in text
    session.apply(SECOND)
    assert weir.secrets.get("company.team", "DB_PASSWORD").fingerprint == fingerprint_of(
        weir, SECOND
    )
    assert session.plan(SECOND)[0] == 0

    # Changed outside Terraform: the fingerprint tells, and the apply writes value_wo again.
    weir.secrets.set("company.team", "DB_PASSWORD", "changed by hand", force=True)
    weir.secrets.set("company.team", "API_KEY", "changed by hand", force=True)
    code, text = session.plan(SECOND)
    assert code == 2 and "2 to change" in text
    assert "DB_PASSWORD of namespace company.team was changed outside Terraform" in text
    assert "API_KEY of namespace company.team was changed outside Terraform" in text
    session.apply(SECOND)
    assert weir.secrets.get("company.team", "DB_PASSWORD").fingerprint == fingerprint_of(
        weir, SECOND
    )
    assert weir.secrets.get("company.team", "API_KEY").fingerprint == fingerprint_of(weir, LITERAL)
    assert session.plan(SECOND)[0] == 0

    # Deleted outside Terraform: planned for creation.
    weir.secrets.delete("company.team", "API_KEY", force=True)
    code, text = session.plan(SECOND)
    assert code == 2 and "1 to add" in text
    session.apply(SECOND)
    assert weir.secrets.get("company.team", "API_KEY").fingerprint == fingerprint_of(weir, LITERAL)

    session.assert_no_secret_anywhere()
    session.run("destroy", "-auto-approve", secret=SECOND)
    assert [s.name for s in weir.secrets.list("company.team")] == []
    session.assert_no_secret_anywhere()


IMPORTED = """
resource "weir_secret" "token" {
  namespace = "company.imported"
  name      = "TOKEN"
  value_wo  = "from-terraform-3b6c"
  %s
}
"""


def test_secret_import(terraform: Terraform, weir: WeirClient) -> None:
    made = weir.secrets.set("company.imported", "TOKEN", "made-by-hand-5e8a")
    terraform.write(IMPORTED % "")
    terraform.init()
    terraform.run("import", "weir_secret.token", "company.imported/TOKEN")
    assert terraform.plan()[0] == 0
    state = terraform.state()["weir_secret.token"]
    assert state["fingerprint"] == made.fingerprint
    assert state["value_wo_version"] is None and state["value_wo"] is None

    # Setting value_wo_version writes the configured value over the imported one.
    terraform.write(IMPORTED % "value_wo_version = 1")
    code, text = terraform.plan()
    assert code == 2 and "+ value_wo_version = 1" in text
    terraform.apply()
    found = weir.secrets.get("company.imported", "TOKEN")
    assert found.fingerprint == fingerprint_of(weir, "from-terraform-3b6c")
    assert by_terraform(found.managed_by)
    assert "from-terraform-3b6c" not in terraform.state_text()


BAD = """
variable "secret" {
  type      = string
  sensitive = true
}

resource "weir_secret" "named" {
  namespace = "company.team"
  name      = "%s"
  value_wo  = "never-shown-1d4f"
}

resource "weir_secret" "large" {
  namespace = "company.team"
  name      = "LARGE"
  value_wo  = var.secret
}
"""


def test_secret_errors_name_the_attribute_and_never_the_value(terraform: Terraform) -> None:
    large = "too-large-6f3a" * 5000
    terraform.write(BAD % "not a name!")
    terraform.init()
    error = terraform.failing("plan", "-input=false", "-var", f"secret={large}")
    assert "name 'not a name!' is not valid" in error and 'name      = "not a name!"' in error

    terraform.write(BAD % "NAMED")
    error = terraform.failing("apply", "-auto-approve", "-input=false", "-var", f"secret={large}")
    assert "secret LARGE of namespace company.team was refused" in error
    assert "at most 65536" in error
    assert "too-large-6f3a" not in error and "never-shown-1d4f" not in error

    error = terraform.failing(
        "import", "-input=false", "-var", "secret=x", "weir_secret.large", "company.team"
    )
    assert "import id 'company.team' is not of the form namespace/name" in error
