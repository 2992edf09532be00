"""`foley-engine` as a user runs it: a separate process, signals, model folders."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from foley_server.jobs import CANCEL_WAIT_S
from foley_proto.v1 import engine_pb2 as pb
from foley_proto.v1 import engine_pb2_grpc as pb_grpc

from .test_engine_api import _spec
from .test_security import BEARER, TOKEN, free_port


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


def _health(channel: grpc.Channel) -> int:
    return health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5).status


def test_sigterm_mid_job_refuses_new_work_and_exits_within_the_grace_period(
    tmp_path: Path, tiny_model_dir: Path, small_video: Path, media_root: Path
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    address, grace_s = f"127.0.0.1:{free_port()}", 2.0
    serve = engine(
        "serve", "--listen", address, "--token-file", token_file, "--model", tiny_model_dir,
        "--media-root", media_root, "--grace-s", grace_s,
    )
    # One torch thread: the tiny model is fastest so, and the test machine may be shared.
    process = subprocess.Popen(serve, stderr=subprocess.PIPE, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        wait_serving(address, process)
        second = subprocess.run(engine("serve", "--listen", address), capture_output=True, text=True, timeout=120)
        assert second.returncode == 2 and f"already listening on {address}" in second.stderr
        with grpc.insecure_channel(address) as channel:
            stub = pb_grpc.EngineStub(channel)
            # Three windows of 200 steps: it runs far longer than the grace period.
            call = stub.Generate(_spec(small_video, duration_frames=20 * 24, steps=200), metadata=BEARER, timeout=120)
            while next(call).WhichOneof("kind") != "progress":
                pass
            process.send_signal(signal.SIGTERM)
            signalled = time.monotonic()
            while _health(channel) != health_pb2.HealthCheckResponse.NOT_SERVING:
                assert time.monotonic() - signalled < grace_s, "health still SERVING after SIGTERM"
                time.sleep(0.05)
            with pytest.raises(grpc.RpcError) as refused:
                stub.SubmitJob(_spec(small_video, duration_frames=48, steps=1), metadata=BEARER, timeout=10)
            assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
            assert "shutting down" in refused.value.details()
            last = list(call)[-1]
        assert last.WhichOneof("kind") == "cancelled" and "shutting down" in last.cancelled.reason
        process.wait(timeout=grace_s + CANCEL_WAIT_S + 30)
        took = time.monotonic() - signalled
    finally:
        if process.poll() is None:
            process.kill()
        _, log = process.communicate(timeout=60)
    print(f"\nSIGTERM mid-job: exit code {process.returncode} {took:.1f} s later (grace period {grace_s} s)")
    assert process.returncode == 0, log
    # The grace period, the job noticing its cancellation, gRPC's own 1 s close: a few seconds.
    assert took < grace_s + 5, f"exited {took:.1f} s after SIGTERM"
