"""What Terraform says when its plan meets the server as it is: an object that exists already, an
object changed between plan and apply, a namespace that still holds objects at destroy."""

from __future__ import annotations

from controlplane.client import WeirClient
from tests.integration.provider.harness import Terraform, by_terraform

SOURCE = (
    "id: hello\nnamespace: {ns}\ntasks:\n  - id: log\n"
    "    type: io.kestra.plugin.core.log.Log\n    message: {message}\n"
)


def flow_config(ns: str, message: str = "hi") -> str:
    content = SOURCE.format(ns=ns, message=message).replace("\n", "\\n")
    return f'resource "weir_flow" "hello" {{\n  content = "{content}"\n}}\n'


def test_creating_a_flow_that_exists_explains_it_and_the_ways_out(
    terraform: Terraform, weir: WeirClient
) -> None:
    ns = "collide.flow"
    weir.flows.create(SOURCE.format(ns=ns, message="hi"))  # as `--load flows/` does: no manager
    terraform.write(flow_config(ns))
    terraform.init()
    for _ in range(2):  # planning again changes nothing: the advice is not "plan again"
        error = " ".join(terraform.failing("apply", "-auto-approve", "-input=false").split())
        assert f"flow {ns}/hello already exists on the server" in error
        assert "It is at revision 1 and managed by nobody." in error
        assert f'import {{ to = weir_flow.NAME id = "{ns}/hello" }}' in error
        assert f"terraform import weir_flow.NAME {ns}/hello" in error
        assert f"curl -X DELETE {weir.url}/api/v1/flows/{ns}/hello" in error
        assert "If-Match" not in error and "plan again" not in error

    # The first way out: an import block adopts it, and the next plan is empty.
    terraform.write(
        flow_config(ns) + f'import {{\n  to = weir_flow.hello\n  id = "{ns}/hello"\n}}\n'
    )
    terraform.apply()
    # Adopting it records this state as its owner: one revision more.
    assert terraform.state()["weir_flow.hello"]["revision"] == 2
    assert by_terraform(weir.flows.get(ns, "hello").managed_by)
    assert terraform.plan()[0] == 0


def test_creating_over_an_object_another_manager_owns_names_that_manager(
    terraform: Terraform, weir: WeirClient
) -> None:
    gitops = WeirClient(weir.url, manager="gitops:main", retries=0)
    with gitops:
        gitops.kv.set("collide.kv", "region", "eu")
    terraform.write(
        'resource "weir_kv" "region" {\n  namespace = "collide.kv"\n  key = "region"\n'
        '  value = "us"\n}\n'
    )
    terraform.init()
    error = " ".join(terraform.failing("apply", "-auto-approve", "-input=false").split())
    assert "KV pair region of namespace collide.kv already exists on the server" in error
    assert "managed by 'gitops:main'" in error
    assert "terraform import weir_kv.NAME collide.kv/region" in error

    # The second way out: delete it on the server, and the create goes through.
    weir.kv.delete("collide.kv", "region", force=True)
    terraform.apply()
    assert weir.kv.get("collide.kv", "region").value == "us"


def test_a_change_between_plan_and_apply_says_to_plan_again(
    terraform: Terraform, weir: WeirClient
) -> None:
    ns = "collide.stale"
    terraform.write(flow_config(ns))
    terraform.init()
    terraform.apply()
    terraform.write(flow_config(ns, "planned"))
    terraform.run("plan", "-input=false", "-out=changes.tfplan")
    weir.flows.put(SOURCE.format(ns=ns, message="by hand"), force=True)
    error = " ".join(terraform.failing("apply", "-input=false", "changes.tfplan").split())
    assert f"flow {ns}/hello changed on the server since the plan" in error
    assert "Run terraform plan again" in error and "already exists" not in error


def test_destroying_a_namespace_that_still_holds_objects_names_them(
    terraform: Terraform, weir: WeirClient
) -> None:
    terraform.write('resource "weir_namespace" "team" {\n  name = "collide.held"\n}\n')
    terraform.init()
    terraform.apply()
    weir.flows.create(SOURCE.format(ns="collide.held", message="left behind"))
    error = " ".join(terraform.failing("destroy", "-auto-approve", "-input=false").split())
    assert (
        "namespace collide.held cannot be deleted: namespace collide.held still holds "
        "1 flow: collide.held/hello; delete it first"
    ) in error
    assert "destroy the Terraform resources" in error
    assert "import" not in error

    weir.flows.delete("collide.held", "hello")
    terraform.destroy()
    assert weir.namespaces.list(prefix="collide.held").results == []
