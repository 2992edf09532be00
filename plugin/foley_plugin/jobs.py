"""From a clip's window on the timeline to the engine's job spec, and back to metadata."""

from __future__ import annotations

import hashlib
import os
from dataclasses import asdict, dataclass
from fractions import Fraction

from foley_proto.v1 import engine_pb2 as pb

from .clips import ClipWindow
from .timeutil import to_seconds


@dataclass(frozen=True)
class GenerateOptions:
    """What the user chose on the command line; None means the engine's default."""

    prompt: str = ""
    semantic_strength: float | None = None
    temporal_strength: float | None = None
    seed: int = 0
    steps: int = 0
    guidance_scale: float | None = None
    sample_rate: int = 48_000


def rational(seconds: Fraction) -> pb.RationalTime:
    """An exact RationalTime for a number of seconds."""
    return pb.RationalTime(value=seconds.numerator, rate_num=seconds.denominator, rate_den=1)


def job_spec(window: ClipWindow, options: GenerateOptions, index: int) -> pb.JobSpec:
    """The job for one clip. Each clip gets its own seed (options.seed + index)."""
    if window.media.path is None:
        raise ValueError(f"clip {window.name!r} has no media: {window.media.reason}")
    spec = pb.JobSpec(
        video_path=str(window.media.path),
        window=pb.Window(
            media_start=rational(window.media_start),
            duration=rational(to_seconds(window.duration)),
            speed=pb.Ratio(num=window.speed.numerator, den=window.speed.denominator),
        ),
        cues=[pb.OnsetCue(time=rational(cue.time), label=cue.label) for cue in window.cues],
        spans=[pb.EventSpan(start=rational(s.start), end=rational(s.end), label=s.label) for s in window.spans],
        prompt=options.prompt,
        seed=options.seed + index,
        steps=options.steps,
        sample_rate=options.sample_rate,
        client_tag=window.name,
    )
    for name in ("semantic_strength", "temporal_strength", "guidance_scale"):
        value = getattr(options, name)
        if value is not None:
            setattr(spec, name, value)
    return spec


def input_hash(spec: pb.JobSpec, model_name: str) -> str:
    """A hash of everything that determines a clip's audio: the spec, the media file, the model."""
    digest = hashlib.sha256(spec.SerializeToString(deterministic=True))
    digest.update(model_name.encode())
    if spec.video_path:
        stat = os.stat(spec.video_path)
        digest.update(f"{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()


def clip_metadata(spec: pb.JobSpec, options: GenerateOptions, model_name: str, job_id: str, seed: int) -> dict:
    """What goes into the Foley clip's `metadata["foley"]`: enough to regenerate it."""
    return {
        "model": model_name,
        "job_id": job_id,
        "seed": seed,
        "input_hash": input_hash(spec, model_name),
        "options": {key: value for key, value in asdict(options).items() if value is not None},
        "cues": len(spec.cues),
        "spans": len(spec.spans),
        "video": spec.video_path,
    }
