"""The Kubernetes manifests under gitops/deploy, rendered by ``kubectl kustomize`` as
``kubectl apply -k`` renders them, and checked against Weir itself: its CLI parser takes every
container's arguments, its store settings find in each environment what the process needs, its
app serves the probes' paths without a token, its validator accepts the flows the reconciler
loads. The last test runs the standalone reconciler's pod and Job commands for real, with their
volumes as folders.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import io
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from controlplane.api import ApiSettings
from controlplane.cli.main import build_parser
from controlplane.cli.server import SHARED
from controlplane.client import WeirClient
from controlplane.spec.validate import validate_text
from controlplane.store import StoreSettings
from tests.integration.api.conftest import serve
from tests.standalone import standalone

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "gitops" / "deploy"
DOCS = ROOT / "docs" / "kubernetes.md"
SHIPPED_FLOW = ROOT / "flows" / "system" / "gitops-reconcile.yaml"
IN_CLUSTER_FLOW = DEPLOY / "components" / "reconciler" / "flows" / "gitops-reconcile.yaml"
NAMESPACE = "weir-system"
WEIR = str(Path(sys.executable).parent / "weir")
PROBES = ("startupProbe", "livenessProbe", "readinessProbe")
# Stand-ins for the values of the Secrets the user creates, by (secret, key).
SECRET_VALUES = {
    ("weir-database", "url"): "postgresql://weir@postgres.example.internal:5432/weir",
    ("weir-database", "secret-key"): base64.b64encode(bytes(range(32))).decode(),
}

Doc = dict[str, Any]


def _kustomizations() -> list[Path]:
    found = []
    for path in sorted(DEPLOY.rglob("kustomization.yaml")):
        if yaml.safe_load(path.read_text(encoding="utf-8")).get("kind") == "Kustomization":
            found.append(path.parent)
    return found


KUSTOMIZATIONS = _kustomizations()


@cache
def render(directory: Path) -> tuple[Doc, ...]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.fail(
            "kubectl is not on PATH: these tests render the manifests with `kubectl kustomize` "
            "(install kubectl from Kubernetes' apt repository or the Google Cloud SDK)"
        )
    done = subprocess.run(
        [kubectl, "kustomize", str(directory)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        pytest.fail(f"kubectl kustomize {directory.relative_to(ROOT)} failed:\n{done.stderr}")
    return tuple(doc for doc in yaml.safe_load_all(done.stdout) if doc)


@pytest.fixture(params=KUSTOMIZATIONS, ids=lambda path: str(path.relative_to(DEPLOY)))
def objects(request: pytest.FixtureRequest) -> tuple[Doc, ...]:
    return render(request.param)


def of_kind(objects: tuple[Doc, ...], kind: str) -> list[Doc]:
    return [doc for doc in objects if doc["kind"] == kind]


def one(objects: tuple[Doc, ...], kind: str, name: str) -> Doc:
    found = [doc for doc in of_kind(objects, kind) if doc["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def pods(objects: tuple[Doc, ...]) -> Iterator[tuple[str, Doc]]:
    """Each workload's name (``Kind/name``) and its pod spec."""
    for doc in objects:
        if doc["kind"] in ("Deployment", "Job"):
            yield f"{doc['kind']}/{doc['metadata']['name']}", doc["spec"]["template"]["spec"]


def containers(objects: tuple[Doc, ...]) -> Iterator[tuple[str, Doc, Doc]]:
    for where, spec in pods(objects):
        for container in spec.get("initContainers", []) + spec["containers"]:
            yield f"{where} container {container['name']}", spec, container


def weir_args(where: str, container: Doc) -> argparse.Namespace | None:
    """The arguments the image's entrypoint (``weir``) gets, as Weir's own parser reads them;
    None for a container that runs a command of its own."""
    if "command" in container:
        return None
    assert "args" in container, f"{where} has no args: it would run the image's default"
    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors):
            return build_parser().parse_args([str(arg) for arg in container["args"]])
    except SystemExit:
        pytest.fail(f"{where}: weir refuses {container['args']}: {errors.getvalue().strip()}")


def servers(objects: tuple[Doc, ...]) -> Iterator[tuple[str, Doc, Doc, argparse.Namespace]]:
    """The containers running ``weir server <role>``."""
    for where, spec, container in containers(objects):
        args = weir_args(where, container)
        if args is not None and args.command == "server":
            yield where, spec, container, args


def documented_secrets() -> dict[str, set[str]]:
    """The Secrets docs/kubernetes.md tells the user to create, with their keys."""
    text = DOCS.read_text(encoding="utf-8").replace("\\\n", " ")
    found: dict[str, set[str]] = {}
    for command in re.finditer(r"create secret generic ([\w.-]+)([^\n]*)", text):
        keys = re.findall(r"--from-literal=([\w.-]+)=", command.group(2))
        found.setdefault(command.group(1), set()).update(keys)
    return found


def secret_keys(objects: tuple[Doc, ...]) -> dict[str, set[str]]:
    keys = documented_secrets()
    for secret in of_kind(objects, "Secret"):
        data = {**secret.get("data", {}), **secret.get("stringData", {})}
        keys.setdefault(secret["metadata"]["name"], set()).update(data)
    return keys


def environment(container: Doc, secrets: dict[tuple[str, str], str]) -> dict[str, str]:
    """The container's environment, each Secret reference replaced by ``secrets``' value."""
    env: dict[str, str] = {}
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = var["value"]
            continue
        ref = var["valueFrom"]["secretKeyRef"]
        value = secrets.get((ref["name"], ref["key"]))
        if value is not None:
            env[var["name"]] = value
        else:
            assert ref.get("optional"), f"no value given for {ref} in this test"
    return env


def mount_under(spec: Doc, container: Doc, path: str) -> tuple[Doc, Doc] | None:
    """The mount holding ``path`` (the deepest one) and its volume."""
    holding = [
        m
        for m in container.get("volumeMounts", [])
        if path == m["mountPath"] or path.startswith(m["mountPath"].rstrip("/") + "/")
    ]
    if not holding:
        return None
    mount = max(holding, key=lambda m: len(m["mountPath"]))
    volumes = {volume["name"]: volume for volume in spec.get("volumes", [])}
    return mount, volumes[mount["name"]]


def test_every_kustomization_is_checked() -> None:
    names = {str(path.relative_to(DEPLOY)) for path in KUSTOMIZATIONS}
    assert names >= {
        "base",
        "overlays/standalone",
        "overlays/reconciler",
        "overlays/standalone-reconciler",
        "examples/gpu-workers",
    }


def test_everything_is_in_weir_system(objects: tuple[Doc, ...]) -> None:
    assert [ns["metadata"]["name"] for ns in of_kind(objects, "Namespace")] == [NAMESPACE]
    for doc in objects:
        if doc["kind"] != "Namespace":
            where = f"{doc['kind']}/{doc['metadata']['name']}"
            assert doc["metadata"].get("namespace") == NAMESPACE, f"{where} is not in {NAMESPACE}"
            assert doc["metadata"]["labels"]["app.kubernetes.io/part-of"] == "weir", where


def test_deployments_select_their_own_pods(objects: tuple[Doc, ...]) -> None:
    deployments = of_kind(objects, "Deployment")
    assert deployments
    for deployment in deployments:
        name = deployment["metadata"]["name"]
        selector = deployment["spec"]["selector"]
        assert set(selector) == {"matchLabels"}, f"{name}: only matchLabels are checked here"
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        for key in ("name", "component", "part-of"):
            assert f"app.kubernetes.io/{key}" in labels, f"{name}: no app.kubernetes.io/{key}"
        assert selector["matchLabels"].items() <= labels.items(), f"{name}: {selector} {labels}"
        for other in deployments:
            other_labels = other["spec"]["template"]["metadata"]["labels"]
            assert other is deployment or not selector["matchLabels"].items() <= (
                other_labels.items()
            ), f"{name} also selects the pods of {other['metadata']['name']}"


def test_service_weir_sends_port_8080_to_the_api(objects: tuple[Doc, ...]) -> None:
    service = one(objects, "Service", "weir")
    (port,) = service["spec"]["ports"]
    assert port["port"] == 8080
    selector = service["spec"]["selector"].items()
    selected = [
        d
        for d in of_kind(objects, "Deployment")
        if selector <= d["spec"]["template"]["metadata"]["labels"].items()
    ]
    assert selected, f"the Service selects no pods: {dict(selector)}"
    for deployment in selected:
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        where = f"Deployment/{deployment['metadata']['name']}"
        args = weir_args(where, container)
        assert args is not None and args.command == "server", where
        assert args.role in ("api", "standalone"), f"the Service selects {where}, a {args.role}"
        assert args.host == "0.0.0.0", f"{where} listens on {args.host}, out of the Service's reach"
        target = port["targetPort"]
        declared = [
            p for p in container.get("ports", []) if target in (p.get("name"), p["containerPort"])
        ]
        assert declared, f"{where} declares no port {target!r}"
        assert declared[0]["containerPort"] == args.port, f"{where} listens on {args.port}"


def test_weir_accepts_every_container_command(objects: tuple[Doc, ...]) -> None:
    for where, _, container in containers(objects):
        if weir_args(where, container) is not None:
            continue
        assert container["command"] == ["python", "-c"], f"{where} runs {container['command']}"
        compile(container["args"][0], where, "exec")


def test_env_comes_from_values_and_secret_keys_that_exist(objects: tuple[Doc, ...]) -> None:
    known = secret_keys(objects)
    for where, _, container in containers(objects):
        assert "envFrom" not in container, where
        for var in container.get("env", []):
            name = f"{where} env {var['name']}"
            if "value" in var:
                assert isinstance(var["value"], str) and var["value"], f"{name} is empty"
                continue
            assert list(var["valueFrom"]) == ["secretKeyRef"], name
            ref = var["valueFrom"]["secretKeyRef"]
            assert ref["name"] in known, f"{name}: no Secret {ref['name']} is created"
            assert ref["key"] in known[ref["name"]], f"{name}: Secret {ref['name']} has no {ref}"


def test_each_server_finds_its_store_on_the_shared_volume(objects: tuple[Doc, ...]) -> None:
    for where, spec, container, args in servers(objects):
        settings = StoreSettings.from_env(environment(container, SECRET_VALUES))
        if args.role in SHARED:
            assert not settings.embedded, f"{where}: `weir server {args.role}` needs a database"
            assert settings.secret_key is not None, f"{where} has no WEIR_SECRET_KEY"
        else:
            assert settings.embedded, f"{where}: standalone runs on SQLite"
        found = mount_under(spec, container, str(settings.home))
        assert found is not None, f"{where}: WEIR_HOME {settings.home} is on no volume"
        mount, volume = found
        assert not mount.get("readOnly"), f"{where}: WEIR_HOME is read-only"
        assert volume.get("persistentVolumeClaim") == {"claimName": "weir-home"}, where


def test_mounts_name_volumes_that_exist(objects: tuple[Doc, ...]) -> None:
    claims = {doc["metadata"]["name"] for doc in of_kind(objects, "PersistentVolumeClaim")}
    config_maps = {doc["metadata"]["name"] for doc in of_kind(objects, "ConfigMap")}
    for where, spec in pods(objects):
        volumes = {volume["name"]: volume for volume in spec.get("volumes", [])}
        mounted = {m["name"] for c in spec["containers"] for m in c.get("volumeMounts", [])}
        assert mounted <= set(volumes), f"{where} mounts missing volumes {mounted - set(volumes)}"
        assert set(volumes) <= mounted, f"{where} never mounts {set(volumes) - mounted}"
        for name, volume in volumes.items():
            if "persistentVolumeClaim" in volume:
                assert volume["persistentVolumeClaim"]["claimName"] in claims, f"{where} {name}"
            elif "configMap" in volume:
                assert volume["configMap"]["name"] in config_maps, f"{where} {name}"
            else:
                assert volume == {"name": name, "emptyDir": {}}, f"{where} {name}: {volume}"


def test_containers_run_unprivileged_within_limits(objects: tuple[Doc, ...]) -> None:
    for where, spec, container in containers(objects):
        pod, own = spec.get("securityContext", {}), container.get("securityContext", {})
        assert own.get("runAsNonRoot", pod.get("runAsNonRoot")) is True, where
        user = own.get("runAsUser", pod.get("runAsUser"))
        assert isinstance(user, int) and user > 0, f"{where} runs as user {user}"
        assert own.get("allowPrivilegeEscalation") is False, where
        assert own.get("readOnlyRootFilesystem") is True, where
        assert own.get("capabilities") == {"drop": ["ALL"]}, where
        for part in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(container["resources"][part]), f"{where} {part}"
    for where, spec, container, _ in servers(objects):
        found = mount_under(spec, container, "/tmp/x")
        assert found is not None and found[0]["mountPath"] == "/tmp", f"{where}: /tmp read-only"
        assert found[1].get("emptyDir") == {}, f"{where}: /tmp is not an emptyDir"


def test_pods_get_longer_to_stop_than_their_grace(objects: tuple[Doc, ...]) -> None:
    for where, spec, _, args in servers(objects):
        assert spec["terminationGracePeriodSeconds"] > args.grace, where


def test_every_container_runs_the_weir_image(objects: tuple[Doc, ...]) -> None:
    base = yaml.safe_load((DEPLOY / "base" / "kustomization.yaml").read_text(encoding="utf-8"))
    (entry,) = [image for image in base["images"] if image["name"] == "weir"]
    expected = f"{entry.get('newName', 'weir')}:{entry['newTag']}"
    for where, _, container in containers(objects):
        assert container["image"] == expected, where


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """An API and a standalone server requiring tokens, by role, on loopback."""
    import controlplane.tasks  # noqa: F401

    started = {
        role: serve(
            ApiSettings(
                store=StoreSettings(home=tmp_path_factory.mktemp(role)),
                require_tokens=True,
                role=role,
                worker_threads=1,
                grace_seconds=1,
            )
        )
        for role in ("api", "standalone")
    }
    yield {role: server.url for role, server in started.items()}
    for server in started.values():
        server.stop()


def test_probes_are_served_without_a_token(
    objects: tuple[Doc, ...], served: dict[str, str]
) -> None:
    for where, _, container, args in servers(objects):
        if args.role not in ("api", "standalone"):
            assert not any(kind in container for kind in PROBES), f"{where} serves no HTTP"
            continue
        assert {"livenessProbe", "readinessProbe"} <= set(container), f"{where} lacks probes"
        ports = {p.get("name") for p in container["ports"]} | {
            p["containerPort"] for p in container["ports"]
        }
        for kind in PROBES:
            if kind not in container:
                continue
            get = container[kind]["httpGet"]
            assert get["port"] in ports, f"{where} {kind} probes an undeclared port"
            answer = requests.get(served[args.role] + get["path"], timeout=30)
            assert answer.status_code == 200, f"{where} {kind} {get['path']}: {answer.text}"


def loaded_flows(objects: tuple[Doc, ...]) -> dict[str, str]:
    """The flow files the servers' ``--load`` paths hold: the ConfigMaps mounted there."""
    config_maps = {doc["metadata"]["name"]: doc for doc in of_kind(objects, "ConfigMap")}
    flows: dict[str, str] = {}
    for where, spec, container, args in servers(objects):
        for path in map(str, args.load):
            found = mount_under(spec, container, path)
            assert found is not None, f"{where} loads {path}, which is on no volume"
            mount, volume = found
            assert mount["mountPath"] == path and "configMap" in volume, f"{where} {path}"
            flows.update(config_maps[volume["configMap"]["name"]]["data"])
    return flows


@pytest.mark.parametrize("overlay", ["overlays/reconciler", "overlays/standalone-reconciler"])
def test_reconciler_overlays_load_valid_flows(overlay: str) -> None:
    flows = loaded_flows(render(DEPLOY / overlay))
    assert flows, f"{overlay} loads no flows"
    refs = []
    for name, text in flows.items():
        result = validate_text(text, name)
        assert result.ok, "\n".join(str(problem) for problem in result.problems)
        refs.append(result.ref)
    assert "system/gitops-reconcile" in refs


def test_in_cluster_flow_is_the_shipped_one_with_the_api_token() -> None:
    shipped = yaml.safe_load(SHIPPED_FLOW.read_text(encoding="utf-8"))
    in_cluster = yaml.safe_load(IN_CLUSTER_FLOW.read_text(encoding="utf-8"))
    (task,) = [task for task in in_cluster["tasks"] if task["id"] == "reconcile"]
    assert task.pop("token") == "{{ secret('WEIR_TOKEN') }}"
    assert in_cluster == shipped


class Pod:
    """A pod's volumes as folders under ``root``: its mount paths and the values naming them
    are moved there, and ConfigMaps are written as the kubelet writes them (``..data/``)."""

    def __init__(self, root: Path, objects: tuple[Doc, ...], spec: Doc, container: Doc) -> None:
        self.moves: list[tuple[str, str]] = []
        config_maps = {doc["metadata"]["name"]: doc for doc in of_kind(objects, "ConfigMap")}
        volumes = {volume["name"]: volume for volume in spec["volumes"]}
        for mount in container["volumeMounts"]:
            folder = root / mount["mountPath"].lstrip("/")
            folder.mkdir(parents=True, exist_ok=True)
            self.moves.append((mount["mountPath"], str(folder)))
            volume = volumes[mount["name"]]
            if "configMap" in volume:
                data = folder / "..data"
                data.mkdir()
                for name, text in config_maps[volume["configMap"]["name"]]["data"].items():
                    (data / name).write_text(text, encoding="utf-8")
                    (folder / name).symlink_to(Path("..data") / name)
        self.moves.sort(key=lambda move: len(move[0]), reverse=True)

    def move(self, value: str) -> str:
        option, equals, path = value.rpartition("=")
        for mount_path, folder in self.moves:
            if path == mount_path or path.startswith(mount_path + "/"):
                return f"{option}{equals}{folder}{path[len(mount_path) :]}"
        return value


def base_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("WEIR_")}


def test_standalone_reconciler_pod_loads_the_flow_and_its_job_sets_the_secrets(
    tmp_path: Path,
) -> None:
    objects = render(DEPLOY / "overlays" / "standalone-reconciler")
    deployment = one(objects, "Deployment", "weir")
    spec = deployment["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    pod = Pod(tmp_path / "pod", objects, spec, container)
    env = base_environment() | {
        name: pod.move(value) for name, value in environment(container, {}).items()
    }
    made = subprocess.run(
        [WEIR, "token", "create", "gitops-reconciler", "--scope", "write"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    token = made.stdout.strip().splitlines()[-1]
    args = [pod.move(str(arg)) for arg in container["args"]]
    assert args[:2] == ["server", "standalone"]
    listen = {"--host": "127.0.0.1", "--port": "0"}
    options = [listen.get(args[i - 1], arg) for i, arg in enumerate(args) if i >= 2]

    with standalone(env, tmp_path, *options) as (url, _):
        for kind in PROBES:
            path = container[kind]["httpGet"]["path"]
            assert requests.get(url + path, timeout=30).status_code == 200, path

        with WeirClient(url, token, retries=0) as weir:
            flow = weir.flows.get("system", "gitops-reconcile")
            assert flow.source == IN_CLUSTER_FLOW.read_text(encoding="utf-8")

            job = one(objects, "Job", "weir-reconciler-secrets")
            (setter,) = job["spec"]["template"]["spec"]["containers"]
            git_token = "git-credential-for-this-test"
            job_env = environment(
                setter,
                {
                    ("weir-reconciler", "weir-token"): token,
                    ("weir-reconciler", "git-token"): git_token,
                },
            )
            service = one(objects, "Service", "weir")
            in_cluster = f"http://weir.{service['metadata']['namespace']}.svc.cluster.local:8080"
            assert job_env["WEIR_URL"] == in_cluster
            ran = subprocess.run(
                [sys.executable, *setter["command"][1:], *setter["args"]],
                env=base_environment() | job_env | {"WEIR_URL": url},
                capture_output=True,
                text=True,
                check=False,
            )
            shown = ran.stdout + ran.stderr
            assert ran.returncode == 0, shown
            assert token not in shown and git_token not in shown
            assert {s.name for s in weir.secrets.list("system")} >= {"WEIR_TOKEN", "GIT_TOKEN"}
