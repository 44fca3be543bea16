"""The generated CDK constructs: synthesized by a real app of CDK Terrain (cdktn) and of CDKTF 0.21
(jsii on Node.js), then applied by the real terraform binary through the provider against a live
server."""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from controlplane.client import WeirClient
from controlplane.provider.cdktf.generate import main as generate
from tests.integration.provider.harness import Terraform

APP = textwrap.dedent(
    """
    from {library} import App, TerraformOutput, TerraformStack

    from controlplane.provider.cdktf.bindings import DataWeirFlow, Flow, Namespace, Secret, WeirProvider

    FLOW = "id: hello\\nnamespace: {namespace}\\ntasks:\\n  - id: log\\n    type: io.kestra.plugin.core.log.Log\\n    message: hi\\n"


    class Weir(TerraformStack):
        def __init__(self, scope, name):
            super().__init__(scope, name)
            WeirProvider(self, "weir", timeout=20)
            team = Namespace(self, "team", name="{namespace}", variables={{"region": "eu"}})
            Secret(self, "token", namespace=team.name, name="API_TOKEN", value_wo="s3cr3t-cdk", value_wo_version=1)
            hello = Flow(self, "hello", content=FLOW, namespace=team.name)
            read = DataWeirFlow(self, "read", namespace=hello.namespace, flow_id=hello.flow_id)
            TerraformOutput(self, "revision", value=hello.revision)
            TerraformOutput(self, "read_id", value=read.tf_id)


    app = App(outdir="cdktf.out")
    Weir(app, "weir")
    app.synth()
    """
)


def test_the_checked_in_bindings_match_the_schema() -> None:
    assert generate(["--check"]) == 0, "run python -m controlplane.provider.cdktf.generate"


@pytest.mark.parametrize("library", ["cdktn", "cdktf"])
def test_a_cdk_app_synthesizes_and_applies(
    library: str, tmp_path: Path, tf_env: dict[str, str], weir: WeirClient
) -> None:
    namespace = f"company.{library}"
    (tmp_path / "app.py").write_text(APP.format(library=library, namespace=namespace))
    env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    done = subprocess.run(
        [sys.executable, "app.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    synthesized = tmp_path / "cdktf.out" / "stacks" / "weir"
    metadata = json.loads((synthesized / "cdk.tf.json").read_text())["//"]["metadata"]
    assert metadata["version"] == importlib.metadata.version(library)
    stack = Terraform(synthesized, tf_env)
    stack.init()
    stack.apply()
    assert weir.namespaces.get(namespace).variables == {"region": "eu"}
    # The stack's state is its own owner, named after the stack's directory.
    owner = weir.flows.get(namespace, "hello").managed_by
    assert re.fullmatch(r"terraform:weir-[0-9a-f]{8}", owner or "")
    assert "s3cr3t-cdk" not in (tmp_path / "terraform.weir.tfstate").read_text()
    assert stack.plan()[0] == 0
    stack.destroy()
    assert weir.flows.search(namespace).results == []
