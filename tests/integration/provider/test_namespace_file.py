"""``weir_namespace_file`` driven by the real terraform binary against a live server."""

from __future__ import annotations

import hashlib

from controlplane.client import WeirClient
from tests.integration.provider.harness import Terraform, by_terraform

CONFIG = """
resource "weir_namespace_file" "etl" {
  namespace = "company.team"
  path      = "scripts/etl.py"
  source    = "${path.module}/files/etl.py"
}

resource "weir_namespace_file" "readme" {
  namespace = "company.team"
  path      = "README.md"
  content   = "%s"
}
"""


def squeeze(text: str) -> str:
    """Plan text with runs of spaces as one: Terraform aligns the ``=`` of a block."""
    return " ".join(text.split())


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_namespace_file_lifecycle(terraform: Terraform, weir: WeirClient) -> None:
    script = terraform.workdir / "files" / "etl.py"
    script.parent.mkdir()
    first, second = b"print('extract')\n", b"print('extract and load')\n"
    script.write_bytes(first)
    terraform.write(CONFIG % "Hello")
    terraform.init()
    code, text = terraform.plan()
    assert code == 2 and "2 to add" in text
    # The hash is known at plan time, from the local file.
    assert f'+ sha256 = "{sha256(first)}"' in squeeze(text)

    terraform.apply()
    assert weir.files.read("company.team", "scripts/etl.py") == first
    assert weir.files.read("company.team", "README.md") == b"Hello"
    [readme] = weir.files.list("company.team", prefix="README.md")
    assert by_terraform(readme.managed_by) and readme.size == 5
    assert terraform.state()["weir_namespace_file.readme"]["id"] == "company.team/README.md"
    assert terraform.plan()[0] == 0

    # An edit of the source file is a diff although the configuration did not change.
    script.write_bytes(second)
    code, text = terraform.plan()
    assert code == 2 and f'~ sha256 = "{sha256(first)}" -> "{sha256(second)}"' in squeeze(text)
    terraform.apply()
    assert weir.files.read("company.team", "scripts/etl.py") == second
    assert terraform.plan()[0] == 0

    terraform.write(CONFIG % "Hello, team")
    code, text = terraform.plan()
    assert code == 2 and '~ content = "Hello" -> "Hello, team"' in squeeze(text)
    terraform.apply()
    assert weir.files.read("company.team", "README.md") == b"Hello, team"

    # Changed outside Terraform: the plan shows the server's text, and the apply puts it back.
    weir.files.write("company.team", "README.md", b"edited", force=True)
    weir.files.write("company.team", "scripts/etl.py", b"broken", force=True)
    code, text = terraform.plan()
    assert code == 2 and '~ content = "edited" -> "Hello, team"' in squeeze(text)
    assert f'~ sha256 = "{sha256(b"broken")}" -> "{sha256(second)}"' in squeeze(text)
    terraform.apply()
    assert weir.files.read("company.team", "README.md") == b"Hello, team"
    assert weir.files.read("company.team", "scripts/etl.py") == second

    # Deleted outside Terraform: planned for creation.
    weir.files.delete("company.team", "README.md", force=True)
    code, text = terraform.plan()
    assert code == 2 and "1 to add" in text
    terraform.apply()
    assert weir.files.read("company.team", "README.md") == b"Hello, team"

    terraform.destroy()
    assert weir.files.list("company.team") == []


IMPORTED = """
resource "weir_namespace_file" "query" {
  namespace = "company.imported"
  path      = "sql/daily/query.sql"
  %s
}
"""


def test_namespace_file_import(terraform: Terraform, weir: WeirClient) -> None:
    made = weir.files.write("company.imported", "sql/daily/query.sql", b"select 1\n")
    terraform.write(IMPORTED % 'content = "select 1\\n"')
    terraform.init()
    terraform.run("import", "weir_namespace_file.query", "company.imported/sql/daily/query.sql")
    code, text = terraform.plan()
    assert code == 0, text
    state = terraform.state()["weir_namespace_file.query"]
    assert (state["path"], state["sha256"], state["size"]) == (
        "sql/daily/query.sql",
        made.sha256,
        9,
    )

    # The same bytes from a local file instead: the state changes, the server's file does not.
    (terraform.workdir / "query.sql").write_bytes(b"select 1\n")
    terraform.write(IMPORTED % 'source = "query.sql"')
    code, text = terraform.plan()
    assert code == 2 and '+ source = "query.sql"' in squeeze(text)
    terraform.apply()
    [found] = weir.files.list("company.imported")
    assert found.revision == made.revision
    assert terraform.plan()[0] == 0


def test_namespace_file_configuration_errors_name_the_attribute(terraform: Terraform) -> None:
    (terraform.workdir / "a.txt").write_text("a")
    terraform.write(
        """
resource "weir_namespace_file" "both" {
  namespace = "company.team"
  path      = "both.txt"
  content   = "a"
  source    = "a.txt"
}

resource "weir_namespace_file" "neither" {
  namespace = "company.team"
  path      = "neither.txt"
}

resource "weir_namespace_file" "escapes" {
  namespace = "company.team"
  path      = "../outside.txt"
  content   = "a"
}
"""
    )
    terraform.init()
    error = terraform.failing("plan", "-input=false")
    assert "content and source are both set" in error and 'source    = "a.txt"' in error
    assert "neither content nor source is set" in error
    assert "path '../outside.txt' is not a namespace file path" in error

    terraform.write(
        """
resource "weir_namespace_file" "missing" {
  namespace = "company.team"
  path      = "missing.py"
  source    = "files/missing.py"
}
"""
    )
    error = terraform.failing("plan", "-input=false")
    assert "source file files/missing.py does not exist" in error
    assert 'source    = "files/missing.py"' in error
