"""The input hash keys the finished clips a later run reuses: it changes with
everything that changes a clip's audio, and with nothing else."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from foley_plugin.jobs import CueSource, input_hash
from foley_proto.v1 import engine_pb2 as pb


def make_job(video: Path) -> pb.JobSpec:
    return pb.JobSpec(
        video_path=str(video),
        window=pb.Window(
            media_start=pb.RationalTime(value=5, rate_num=2, rate_den=1),
            duration=pb.RationalTime(value=48, rate_num=24, rate_den=1),
            speed=pb.Ratio(num=1, den=1),
        ),
        cues=[pb.OnsetCue(time=pb.RationalTime(value=1, rate_num=2, rate_den=1), label="step")],
        spans=[pb.EventSpan(start=pb.RationalTime(value=0, rate_num=1, rate_den=1),
                            end=pb.RationalTime(value=1, rate_num=1, rate_den=1), label="rain")],
        prompt="footsteps on gravel",
        seed=3,
        steps=10,
        sample_rate=48_000,
        client_tag="walk",
    )


def make_engine() -> pb.EngineInfo:
    return pb.EngineInfo(
        engine_version="0.1.0",
        model_name="rhythmic-foley-small",
        model_trained=True,
        adapters=[pb.AdapterInfo(name="temporal", default_strength=1.0, trained=True)],
        device="cpu",
        limits=pb.Limits(max_queue=64),
        model_sample_rate=16_000,
        window_samples=163_840,
        default_steps=25,
        default_guidance_scale=4.5,
    )


@pytest.fixture
def video(tmp_path: Path) -> Path:
    path = tmp_path / "walk.mp4"
    path.write_bytes(b"\0" * 1000)
    return path


def _set(message_path: str, value: object) -> Callable[[pb.JobSpec], None]:
    *parents, field = message_path.split(".")

    def change(message) -> None:
        for name in parents:
            message = getattr(message, name)
        setattr(message, field, value)

    return change


JOB_CHANGES = {
    "media start": _set("window.media_start.value", 6),
    "duration": _set("window.duration.value", 49),
    "speed (time map)": _set("window.speed.num", -1),
    "cue time": lambda job: setattr(job.cues[0].time, "value", 2),
    "cue label": lambda job: setattr(job.cues[0], "label", "stomp"),
    "a cue more": lambda job: job.cues.add(time=pb.RationalTime(value=1, rate_num=1, rate_den=1)),
    "span": lambda job: setattr(job.spans[0].end, "value", 2),
    "prompt": _set("prompt", "footsteps on snow"),
    "temporal strength": _set("temporal_strength", 0.5),
    "semantic strength": _set("semantic_strength", 0.5),
    "seed": _set("seed", 4),
    "steps": _set("steps", 11),
    "guidance": _set("guidance_scale", 3.0),
    "sample rate": _set("sample_rate", 44_100),
    "snap": _set("snap", True),
    "snap reach": _set("snap_reach_ms", 50.0),
    "video cues": _set("video_cues", True),
    "cue confidence": lambda job: setattr(job.cues[0], "confidence", 0.5),
}
ENGINE_CHANGES = {
    "model name": _set("model_name", "rhythmic-foley-large"),
    "model training": _set("model_trained", False),
    "engine version": _set("engine_version", "0.2.0"),
    "adapter default": lambda info: setattr(info.adapters[0], "default_strength", 0.8),
    "retrained weights": lambda info: setattr(info, "model_digest", "f" * 64),
    "default steps": _set("default_steps", 50),
    "default guidance": _set("default_guidance_scale", 3.0),
    "device": _set("device", "cuda:0"),
    "event detector": _set("event_detector", True),
}


@pytest.mark.parametrize("change", JOB_CHANGES.values(), ids=JOB_CHANGES.keys())
def test_every_job_parameter_is_in_the_hash(change, video: Path) -> None:
    job = make_job(video)
    before = input_hash(job, make_engine(), CueSource.AUTO)
    change(job)
    assert input_hash(job, make_engine(), CueSource.AUTO) != before


@pytest.mark.parametrize("change", ENGINE_CHANGES.values(), ids=ENGINE_CHANGES.keys())
def test_the_model_and_the_engine_defaults_are_in_the_hash(change, video: Path) -> None:
    engine = make_engine()
    before = input_hash(make_job(video), engine, CueSource.AUTO)
    change(engine)
    assert input_hash(make_job(video), engine, CueSource.AUTO) != before


def test_the_media_file_is_in_the_hash(video: Path, tmp_path: Path) -> None:
    before = input_hash(make_job(video), make_engine(), CueSource.AUTO)
    stat = video.stat()
    os.utime(video, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # replaced: a new modification time
    touched = input_hash(make_job(video), make_engine(), CueSource.AUTO)
    video.write_bytes(b"\0" * 1001)
    os.utime(video, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    resized = input_hash(make_job(video), make_engine(), CueSource.AUTO)
    moved = tmp_path / "elsewhere.mp4"
    shutil.copy2(video, moved)
    assert len({before, touched, resized, input_hash(make_job(moved), make_engine(), CueSource.AUTO)}) == 4


def test_what_does_not_change_the_audio_is_not_in_the_hash(video: Path) -> None:
    job, engine = make_job(video), make_engine()
    before = input_hash(job, engine, CueSource.AUTO)
    job.client_tag = "walk (renamed in the editor)"
    engine.limits.max_queue = 8
    assert input_hash(job, engine, CueSource.AUTO) == before


def test_where_the_cues_come_from_is_in_the_hash(video: Path) -> None:
    # --cues markers and --cues none send the same job to a clip without markers: still another hash,
    # so that a rerun with another --cues never takes a clip the first run made.
    job, engine = make_job(video), make_engine()
    hashes = {input_hash(job, engine, source) for source in CueSource}
    assert len(hashes) == len(CueSource)
