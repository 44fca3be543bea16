"""``WEIR_PROVIDER_PROFILE``: a provider process writes where its CPU time went."""

from __future__ import annotations

import os
import pstats
import subprocess
import sys
from pathlib import Path

import grpc

from controlplane.provider.gen import grpc_controller_pb2 as controller_pb
from controlplane.provider.gen import grpc_controller_pb2_grpc as controller_grpc
from controlplane.provider.gen import tfplugin6_pb2 as pb
from controlplane.provider.gen import tfplugin6_pb2_grpc as pb_grpc
from controlplane.provider.runtime.plugin import MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE


def test_a_profiled_provider_writes_its_calls_and_cpu_time(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PLUGIN_CLIENT_CERT"}
    env.update({MAGIC_COOKIE_KEY: MAGIC_COOKIE_VALUE, "WEIR_PROVIDER_PROFILE": str(tmp_path)})
    with subprocess.Popen(
        [sys.executable, "-m", "controlplane.provider.main"], env=env, stdout=subprocess.PIPE
    ) as process:
        assert process.stdout is not None
        socket = process.stdout.readline().decode().split("|")[3]
        with grpc.insecure_channel(f"unix://{socket}") as channel:
            pb_grpc.ProviderStub(channel).GetProviderSchema(pb.GetProviderSchema.Request())
            controller_grpc.GRPCControllerStub(channel).Shutdown(controller_pb.Empty())
        assert process.wait(60) == 0

    cpu = float((tmp_path / f"{process.pid}.cpu").read_text())
    assert cpu > 0
    profiles = sorted(str(p) for p in tmp_path.glob(f"{process.pid}*.prof"))
    assert len(profiles) > 1  # the main thread's and the threads that served
    stats = pstats.Stats(*profiles)
    called = {name for _, _, name in stats.stats}  # type: ignore[attr-defined]
    assert {"serve", "GetProviderSchema"} <= called
