"""Who may call the engine and what it may read: tokens, listen addresses, media roots."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from foley_plugin.cli import TOKEN_ENV, engine_token
from foley_plugin.client import EngineClient
from foley_plugin.errors import PluginError
from foley_server import cli
from foley_server.config import ConfigError, EngineConfig, is_loopback, listen_address
from foley_proto.v1 import engine_pb2 as pb
from foley_proto.v1 import engine_pb2_grpc as pb_grpc

from ..conftest import ServerThread
from .conftest import serving
from .test_engine_api import _spec, _violations

TOKEN = "s3cr3t-token-for-tests-0123456789"
BEARER = (("authorization", f"Bearer {TOKEN}"),)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def tcp_server(tiny_pipeline, media_root: Path) -> Iterator[ServerThread]:
    """An engine on loopback TCP that was given a token."""
    server = ServerThread(
        None, serving(tiny_pipeline), listen=f"127.0.0.1:{free_port()}", token=TOKEN, media_roots=(media_root,)
    )
    yield server.start()
    server.stop()


@pytest.fixture(scope="module")
def rooted_server(tmp_path_factory: pytest.TempPathFactory, tiny_pipeline, media_root: Path) -> Iterator[ServerThread]:
    server = ServerThread(
        tmp_path_factory.mktemp("rooted") / "engine.sock", serving(tiny_pipeline), media_roots=(media_root,)
    )
    yield server.start()
    server.stop()


@pytest.fixture(scope="module")
def rootless_server(tmp_path_factory: pytest.TempPathFactory, tiny_pipeline) -> Iterator[ServerThread]:
    server = ServerThread(tmp_path_factory.mktemp("rootless") / "engine.sock", serving(tiny_pipeline))
    yield server.start()
    server.stop()


def _unauthenticated(call) -> str:
    with pytest.raises(grpc.RpcError) as refused:
        call()
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    return refused.value.details()


def test_every_call_but_health_needs_the_token(tcp_server: ServerThread, small_video: Path) -> None:
    with grpc.insecure_channel(tcp_server.address) as channel:
        stub = pb_grpc.EngineStub(channel)
        health = health_pb2_grpc.HealthStub(channel)
        status = health.Check(health_pb2.HealthCheckRequest(), timeout=10).status
        assert status == health_pb2.HealthCheckResponse.SERVING
        wrong = (("authorization", f"Bearer {TOKEN[:-1]}x"),)
        assert "token" in _unauthenticated(lambda: stub.GetInfo(pb.GetInfoRequest(), timeout=10))
        assert "wrong" in _unauthenticated(lambda: stub.GetInfo(pb.GetInfoRequest(), timeout=10, metadata=wrong))
        # Every kind of call: unary, server streaming, client streaming, bidirectional (reflection).
        _unauthenticated(lambda: list(stub.Generate(_spec(small_video), timeout=10)))
        _unauthenticated(lambda: stub.UploadVideo(iter([pb.UploadChunk(data=b"x")]), timeout=10))
        reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
        ask = reflection_pb2.ServerReflectionRequest(list_services="")
        _unauthenticated(lambda: list(reflection.ServerReflectionInfo(iter([ask]), timeout=10)))
        # Nothing was queued by the refused calls; with the token everything works.
        assert tcp_server.server.jobs.held == 0
        assert stub.GetInfo(pb.GetInfoRequest(), timeout=10, metadata=BEARER).limits.max_queue > 0
        events = list(stub.Generate(_spec(small_video, duration_frames=48, steps=1), timeout=60, metadata=BEARER))
        assert events[-1].WhichOneof("kind") == "audio"


def test_the_plugin_client_sends_the_token(tcp_server: ServerThread) -> None:
    with EngineClient(tcp_server.address, token=TOKEN) as client:
        assert client.serving()
        assert client.info().limits.max_queue > 0


def test_listening_beyond_loopback_needs_a_token(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ConfigError, match="without a token"):
        EngineConfig(listen="0.0.0.0:50051")
    EngineConfig(listen="0.0.0.0:50051", token=TOKEN)  # told otherwise, with a token: allowed
    EngineConfig(listen="127.0.0.1:50051")  # loopback may run without one
    assert cli.main(["serve", "--listen", "0.0.0.0:50051"]) == 2
    message = capsys.readouterr().err
    assert "refusing to listen on 0.0.0.0:50051 without a token" in message and "--token-file" in message
    short = tmp_path / "short-token"
    short.write_text("abc\n")
    assert cli.main(["serve", "--listen", "0.0.0.0:50051", "--token-file", str(short)]) == 2
    assert "too short" in capsys.readouterr().err
    assert cli.main(["serve", "--listen", "0.0.0.0:50051", "--token-file", str(tmp_path / "missing")]) == 2
    assert "cannot read the token file" in capsys.readouterr().err


def test_tcp_addresses_default_to_loopback() -> None:
    assert listen_address("50051") == listen_address(":50051") == "127.0.0.1:50051"
    assert listen_address("0.0.0.0:50051") == "0.0.0.0:50051"
    assert all(is_loopback(a) for a in ("127.0.0.1:1", "localhost:1", "[::1]:1", "127.0.0.2:1"))
    assert not any(is_loopback(a) for a in ("0.0.0.0:1", "[::]:1", "192.168.1.4:1", "example.com:1"))


def test_a_second_engine_on_the_same_port_is_refused(tcp_server: ServerThread, tiny_pipeline) -> None:
    second = ServerThread(None, serving(tiny_pipeline), listen=tcp_server.config.listen)
    with pytest.raises(RuntimeError) as refused:
        second.start()
    assert f"another engine (or another program) is already listening on {tcp_server.config.listen}" in str(
        refused.value
    )


@pytest.fixture(scope="module")
def traps(media_root: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Paths that must not be read: each outside the media root, or not a regular file."""
    outside = tmp_path_factory.mktemp("outside") / "clip.mp4"
    outside.write_bytes((media_root / "small.mp4").read_bytes())
    traps_dir = media_root / "traps"
    traps_dir.mkdir()
    (traps_dir / "escape.mp4").symlink_to(outside)
    (traps_dir / "null.mp4").symlink_to("/dev/null")
    (traps_dir / "loop-a.mp4").symlink_to(traps_dir / "loop-b.mp4")
    (traps_dir / "loop-b.mp4").symlink_to(traps_dir / "loop-a.mp4")
    os.mkfifo(traps_dir / "fifo.mp4")
    relative_out = os.path.relpath(outside, media_root)
    return {
        "dot-dot": f"{media_root}/{relative_out}",
        "symlink out": str(traps_dir / "escape.mp4"),
        "proc environ": "/proc/self/environ",
        "device": "/dev/null",
        "symlink to a device": str(traps_dir / "null.mp4"),
        "fifo": str(traps_dir / "fifo.mp4"),
        "directory": str(traps_dir),
        "symlink loop": str(traps_dir / "loop-a.mp4"),
    }


@pytest.mark.parametrize(
    ("trap", "says"),
    [
        ("dot-dot", "outside the engine's media roots"),
        ("symlink out", "outside the engine's media roots"),
        ("proc environ", "outside the engine's media roots"),
        ("device", "outside the engine's media roots"),
        ("symlink to a device", "outside the engine's media roots"),
        ("fifo", "is not a regular file"),
        ("directory", "is not a regular file"),
        ("symlink loop", "cannot be resolved"),
    ],
)
def test_paths_outside_the_roots_or_not_regular_files_are_refused(
    rooted_server: ServerThread, traps: dict[str, str], trap: str, says: str
) -> None:
    with grpc.insecure_channel(rooted_server.address) as channel:
        spec = _spec(Path("/unused"))
        spec.video_path = traps[trap]
        with pytest.raises(grpc.RpcError) as refused:
            pb_grpc.EngineStub(channel).SubmitJob(spec, timeout=10)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert _violations(refused.value) == ["video_path"] and says in refused.value.details()


@pytest.mark.parametrize("path", ["/proc/self/environ", "/dev/null", "/etc/passwd"])
def test_without_roots_system_files_are_still_not_videos(rootless_server: ServerThread, path: str) -> None:
    with grpc.insecure_channel(rootless_server.address) as channel:
        spec = _spec(Path(path))
        with pytest.raises(grpc.RpcError) as refused:
            pb_grpc.EngineStub(channel).SubmitJob(spec, timeout=10)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    details = refused.value.details()
    entries = Path(path).read_bytes().replace(b"\0", b"\n").decode(errors="replace").splitlines()
    assert not [entry for entry in entries if len(entry) > 8 and entry in details]


def test_errors_never_echo_a_files_contents(rooted_server: ServerThread, media_root: Path) -> None:
    secret = "TOP-SECRET-7f3a9c-do-not-leak"
    notes = media_root / "notes.mp4"
    notes.write_text(f"password={secret}\n" * 50)
    with grpc.insecure_channel(rooted_server.address) as channel:
        stub = pb_grpc.EngineStub(channel)
        for call in (stub.SubmitJob, lambda spec, timeout: list(stub.Generate(spec, timeout=timeout))):
            with pytest.raises(grpc.RpcError) as refused:
                call(_spec(notes), timeout=10)
            assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert "notes.mp4" in refused.value.details()
            assert secret not in refused.value.details() and secret not in repr(refused.value.trailing_metadata())


def test_the_plugin_reads_its_token_from_a_file_or_the_environment(
    tcp_server: ServerThread, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(f"{TOKEN}\n")
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    assert engine_token(None) is None
    with EngineClient(tcp_server.address, engine_token(token_file)) as client:
        assert client.info().limits.max_queue > 0
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    with EngineClient(tcp_server.address, engine_token(None)) as client:
        assert client.info().limits.max_queue > 0
    with pytest.raises(PluginError, match="cannot read the engine token file"):
        engine_token(tmp_path / "absent")
