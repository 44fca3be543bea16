"""The Terraform provider at scale: N flows against N built-in ``terraform_data`` resources.

Starts the real ``weir server standalone`` on 127.0.0.1 with an empty home, installs the provider
into a private filesystem mirror, and writes two configurations of ``--count`` resources each:
``weir_flow`` (one small flow per resource, all in one namespace) and ``terraform_data`` holding
the same YAML (no provider at all; Terraform's own baseline, with an empty CLI configuration).
Then, interleaving the two, ``--repeat`` times: ``terraform apply`` from nothing, a no-change
``terraform plan``, and ``terraform destroy``. Prints the median wall time of each step and the
ratio of the provider's to the baseline's (Weir's target: at most x1.3 for apply and plan), then
the same for the CPU time of Terraform and the provider processes it starts (the server's
excepted), which a busy machine disturbs less than wall time. A benchmark, never a test.

    python bench/terraform.py [--count 1000] [--repeat 3] [--starts 10] [--profile DIR]

First it starts the provider ``--starts`` times as Terraform does (magic cookie, a client
certificate offered) and prints the median time to its handshake line on stdout, and the CPU
time of a start (the process is ended right after its handshake).

The provider's private folder (its TLS certificate, and the sources the server found valid
within one Terraform command) is one of the run's own (``XDG_RUNTIME_DIR``).

With ``--profile DIR`` each provider process writes its CPU time and its cProfile (one file per
thread) under ``DIR/<round>-<step>/`` (``WEIR_PROVIDER_PROFILE``, see
``controlplane/provider/runtime/profiling.py``); the figures are then slower.
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from api import free_port, start_server

from controlplane.provider.install import offline_environment

FLOW = """<<-EOT
    id: f${count.index}
    namespace: bench.terraform
    description: Flow ${count.index} of the benchmark
    inputs:
      - id: day
        type: STRING
        defaults: "2026-01-01"
    tasks:
      - id: report
        type: io.kestra.plugin.core.log.Log
        message: "Day {{ inputs.day }}"
  EOT"""

WEIR_CONFIG = """terraform {
  required_providers {
    weir = { source = "weir/weir" }
  }
}

resource "weir_flow" "flow" {
  count   = %d
  content = %s
}
"""

BASELINE_CONFIG = """resource "terraform_data" "flow" {
  count = %d
  input = %s
}
"""

STEPS = ("apply", "plan", "destroy")
COMMANDS = {
    "apply": ["apply", "-auto-approve", "-input=false"],
    "plan": ["plan", "-input=false", "-detailed-exitcode"],
    "destroy": ["destroy", "-auto-approve", "-input=false"],
}


def terraform(
    workdir: Path, env: dict[str, str], *args: str, ok: tuple[int, ...] = (0,)
) -> tuple[float, float]:
    """Run one terraform command; its wall time and the CPU time of terraform and of the
    processes it started and waited for (the provider's), in seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        ["terraform", *args, "-no-color"], cwd=workdir, env=env, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in ok:
        raise SystemExit(f"terraform {' '.join(args)} in {workdir} failed:\n{done.stderr}")
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return elapsed, cpu


def start_provider(env: dict[str, str]) -> tuple[float, float]:
    """Start the installed provider as Terraform does; the seconds to its handshake line and
    the CPU seconds the process used (ended right after the handshake)."""
    from controlplane.provider.runtime.plugin import MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE

    launcher = next(Path(env["TF_CLI_CONFIG_FILE"]).parent.glob("plugins/**/terraform-provider-*"))
    env = {
        **env,
        MAGIC_COOKIE_KEY: MAGIC_COOKIE_VALUE,
        "PLUGIN_PROTOCOL_VERSIONS": "6",
        "PLUGIN_CLIENT_CERT": "offered",  # any value: the plugin then serves TLS
    }
    started = time.perf_counter()
    process = subprocess.Popen([str(launcher)], env=env, stdout=subprocess.PIPE)
    assert process.stdout is not None
    line = process.stdout.readline()
    elapsed = time.perf_counter() - started
    if not line.startswith(b"1|6|unix|"):
        raise SystemExit(f"the provider answered {line!r} instead of a handshake")
    process.send_signal(signal.SIGTERM)
    _, _, usage = os.wait4(process.pid, 0)
    process.returncode = 0
    return elapsed, usage.ru_utime + usage.ru_stime


def prepare(root: Path, url: str, count: int) -> dict[str, tuple[Path, dict[str, str]]]:
    runtime = root / "runtime"
    runtime.mkdir(mode=0o700)
    weir_env = {
        **offline_environment(root / "mirror"),
        "WEIR_URL": url,
        "XDG_RUNTIME_DIR": str(runtime),
    }
    empty = root / "empty.tfrc"
    empty.write_text("")
    baseline_env = {**weir_env, "TF_CLI_CONFIG_FILE": str(empty)}
    variants = {
        "weir_flow": (root / "weir", weir_env, WEIR_CONFIG % (count, FLOW)),
        "terraform_data": (root / "baseline", baseline_env, BASELINE_CONFIG % (count, FLOW)),
    }
    prepared = {}
    for name, (workdir, env, config) in variants.items():
        workdir.mkdir()
        (workdir / "main.tf").write_text(config)
        terraform(workdir, env, "init", "-input=false")
        prepared[name] = (workdir, env)
    return prepared


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--starts", type=int, default=10)
    parser.add_argument("--profile", type=Path, help="write the provider's profiles here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="weir-bench-tf-") as scratch:
        root = Path(scratch)
        (root / "home").mkdir()
        port = free_port()
        server = start_server(root / "home", port)
        try:
            variants = prepare(root, f"http://127.0.0.1:{port}", args.count)
            if args.starts:
                starts = [start_provider(variants["weir_flow"][1]) for _ in range(args.starts)]
                print(
                    f"provider start, median of {args.starts}: "
                    f"{statistics.median(s[0] for s in starts) * 1000:.0f} ms to the handshake, "
                    f"{statistics.median(s[1] for s in starts) * 1000:.0f} ms of CPU",
                    flush=True,
                )
            times: dict[str, dict[str, list[tuple[float, float]]]] = {
                name: {step: [] for step in STEPS} for name in variants
            }
            for round_ in range(1, args.repeat + 1):
                for name, (workdir, env) in variants.items():
                    for step in STEPS:
                        step_env = env
                        if args.profile and name == "weir_flow":
                            where = args.profile.resolve() / f"{round_}-{step}"
                            step_env = {**env, "WEIR_PROVIDER_PROFILE": str(where)}
                        times[name][step].append(terraform(workdir, step_env, *COMMANDS[step]))
                    figures = ", ".join(
                        f"{s} {times[name][s][-1][0]:.2f} s (cpu {times[name][s][-1][1]:.2f} s)"
                        for s in STEPS
                    )
                    print(f"round {round_} {name:>14}: {figures}", flush=True)
        finally:
            server.terminate()
            server.wait(30)

    for index, what in enumerate(("wall seconds", "CPU seconds of terraform and the provider")):
        print(f"\n{args.count} resources, median of {args.repeat} ({what}):")
        print(f"{'step':<8} {'weir_flow':>10} {'terraform_data':>15} {'ratio':>7}  target")
        for step in STEPS:
            weir = statistics.median(t[index] for t in times["weir_flow"][step])
            base = statistics.median(t[index] for t in times["terraform_data"][step])
            target = "<= x1.3" if step != "destroy" and index == 0 else ""
            print(f"{step:<8} {weir:>10.2f} {base:>15.2f} {weir / base:>6.2f}x  {target}")


if __name__ == "__main__":
    main()
