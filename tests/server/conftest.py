"""Fixtures of the server tests: a tiny model fast enough for hundreds of jobs, and a
small video under a media root."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
import torch
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from foley_engine.engine import FoleyEngine
from foley_engine.pipeline import RhythmicFoleyPipeline
from foley_server.config import EngineConfig
from foley_proto.v1 import engine_pb2_grpc as pb_grpc

from ..engine.engine_testing import fresh_pipeline, write_video


@pytest.fixture(scope="session")
def tiny_pipeline() -> RhythmicFoleyPipeline:
    """Random weights at a few channels per layer: a one-step job takes a fraction of a second."""
    return fresh_pipeline(vae_levels=3, vae_attention=False, griffin_lim_iterations=1)


@pytest.fixture(scope="session")
def tiny_model_dir(tiny_pipeline: RhythmicFoleyPipeline, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`tiny_pipeline` saved as a model folder, for engines run as a separate process."""
    directory = tmp_path_factory.mktemp("tiny-model")
    tiny_pipeline.save_pretrained(directory, safe_serialization=True)
    return directory


@pytest.fixture(scope="session")
def media_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def small_video(media_root: Path) -> Path:
    """2 s at 24 fps, 64×64 pixels, under `media_root`."""
    return write_video(media_root / "small.mp4", 48, 24)


@pytest.fixture
def one_torch_thread() -> Iterator[None]:
    """Tiny models run fastest on one thread; more only contend on a small shared machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def serving(
    pipeline: RhythmicFoleyPipeline, engine: type[FoleyEngine] = FoleyEngine
) -> Callable[[EngineConfig], FoleyEngine]:
    """A `load_engine` that serves `pipeline` (already in memory) with `engine`."""
    return lambda config: engine(pipeline)


def retry_delay_s(error: grpc.RpcError) -> float | None:
    """The RetryInfo delay in a RESOURCE_EXHAUSTED status's details, if it has one."""
    status = rpc_status.from_call(error)
    for detail in status.details if status else ():
        info = error_details_pb2.RetryInfo()
        if detail.Unpack(info):
            return info.retry_delay.ToMilliseconds() / 1000
    return None


@pytest.fixture
def stub(server) -> Iterator[pb_grpc.EngineStub]:
    """A stub on a channel to the module's `server` fixture (each test module defines its own)."""
    with grpc.insecure_channel(server.address) as channel:
        yield pb_grpc.EngineStub(channel)
