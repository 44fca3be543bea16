"""TerraformCLI with the real terraform binary, on the built-in ``terraform_data`` resource only
(nothing to download)."""

from __future__ import annotations

from pathlib import Path

import pytest

from controlplane.engine.model import State
from tests.integration.tasks.conftest import Runner

TERRAFORM = "io.kestra.plugin.terraform.cli.TerraformCLI"
SECRET_WORD = "hunter2-very-secret"

MAIN_TF = """
variable "greeting" {
  type = string
}

variable "secret_word" {
  type      = string
  sensitive = true
}

resource "terraform_data" "example" {
  input = var.greeting
}

output "greeting" {
  value = terraform_data.example.output
}

output "numbers" {
  value = [1, 2]
}

output "password" {
  value     = var.secret_word
  sensitive = true
}
"""


@pytest.fixture(autouse=True)
def terraform_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty CLI configuration and no plugin cache: nothing of the machine's setup leaks in."""
    config = tmp_path / "terraformrc"
    config.write_text("")
    monkeypatch.setenv("TF_CLI_CONFIG_FILE", str(config))
    monkeypatch.delenv("TF_PLUGIN_CACHE_DIR", raising=False)


def test_init_plan_apply_returns_the_outputs_without_sensitive_ones(runner: Runner) -> None:
    result = runner.run(
        {
            "id": "tf",
            "type": TERRAFORM,
            "inputFiles": {"main.tf": MAIN_TF},
            "env": {"TF_VAR_greeting": "hello", "TF_VAR_secret_word": SECRET_WORD},
            "beforeCommands": ["terraform init -input=false -no-color"],
            "commands": [
                'echo "automation=$TF_IN_AUTOMATION"',
                "terraform plan -input=false -no-color",
                "terraform apply -auto-approve -input=false -no-color",
                "terraform output -raw greeting > greeting.txt",
            ],
            "outputFiles": ["greeting.txt"],
        }
    )
    messages = runner.messages(result)
    assert result.state is State.SUCCESS, messages
    assert result.outputs["exitCode"] == 0
    assert result.outputs["outputs"] == {"greeting": "hello", "numbers": [1, 2]}
    assert set(result.outputs["outputFiles"]) == {"greeting.txt"}
    with runner.store.files.open(result.outputs["outputFiles"]["greeting.txt"]) as stream:
        assert stream.read() == b"hello"
    assert "automation=1" in messages
    assert any("Apply complete! Resources: 1 added" in m for m in messages)
    assert "Terraform output 'password' is sensitive: left out of the task's outputs" in messages
    assert SECRET_WORD not in "\n".join(messages) + repr(result.outputs)


def test_a_failing_plan_fails_the_task_with_terraforms_error(runner: Runner) -> None:
    broken = 'output "x" {\n  value = var.undeclared\n}\n'
    result = runner.run(
        {
            "id": "tf",
            "type": TERRAFORM,
            "inputFiles": {"main.tf": broken},
            "beforeCommands": ["terraform init -input=false -no-color"],
            "commands": ["terraform plan -input=false -no-color", "echo never"],
        }
    )
    messages = runner.messages(result)
    assert result.state is State.FAILED
    assert result.outputs["exitCode"] != 0
    assert any("Reference to undeclared input variable" in m for m in messages)
    assert "never" not in messages
    assert "outputs" not in result.outputs


def test_without_a_state_there_are_no_terraform_outputs(runner: Runner) -> None:
    result = runner.run(
        {
            "id": "tf",
            "type": TERRAFORM,
            "inputFiles": {"main.tf": MAIN_TF},
            "commands": ["terraform validate -no-color"],
            "beforeCommands": ["terraform init -input=false -no-color"],
        }
    )
    assert result.state is State.SUCCESS, runner.messages(result)
    assert "outputs" not in result.outputs
    assert any("The configuration is valid" in m for m in runner.messages(result))


def test_a_worker_without_terraform_fails_clearly(
    runner: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", f"{empty}:/usr/bin:/bin")
    result = runner.run({"id": "tf", "type": TERRAFORM, "commands": ["terraform version"]})
    assert result.state is State.FAILED
    assert result.error is not None
    assert result.error.startswith("terraform is not installed on this worker")
