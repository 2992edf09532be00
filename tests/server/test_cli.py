"""`foley-engine` as a user runs it: a separate process, signals, model folders."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from foley_proto.v1 import engine_pb2 as pb
from foley_proto.v1 import engine_pb2_grpc as pb_grpc


def engine(*args: object) -> list[str]:
    return [sys.executable, "-m", "foley_server.cli", *map(str, args)]


def wait_serving(address: str, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if health.Check(health_pb2.HealthCheckRequest(), timeout=1).status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.2)
    raise AssertionError(f"engine never became SERVING (exit code {process.poll()})")


def test_a_saved_model_is_served_and_sigterm_exits_cleanly(tmp_path: Path) -> None:
    model = tmp_path / "model"
    subprocess.run(engine("save-untrained", model), check=True, capture_output=True)
    assert (model / "model_index.json").exists()
    socket = tmp_path / "engine.sock"
    process = subprocess.Popen(engine("serve", "--socket", socket, "--model", model), stderr=subprocess.PIPE, text=True)
    try:
        wait_serving(f"unix:{socket}", process)
        with grpc.insecure_channel(f"unix:{socket}") as channel:
            info = pb_grpc.EngineStub(channel).GetInfo(pb.GetInfoRequest())
        assert not info.model_trained
        second = subprocess.run(engine("serve", "--socket", socket, "--model", model), capture_output=True, text=True, timeout=120)
        assert second.returncode == 2 and "already serving" in second.stderr
    finally:
        process.send_signal(signal.SIGTERM)
        _, log = process.communicate(timeout=60)
    assert process.returncode == 0
    assert "UNTRAINED" in log
    assert not socket.exists()


def test_a_missing_model_folder_is_named_with_the_command_that_makes_one(tmp_path: Path) -> None:
    missing = tmp_path / "no-model"
    result = subprocess.run(
        engine("serve", "--socket", tmp_path / "e.sock", "--model", missing), capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2
    assert str(missing) in result.stderr and "save-untrained" in result.stderr
    assert "Traceback" not in result.stderr
