"""From a clip's window on the timeline to the engine's job spec, and back to metadata."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from fractions import Fraction

from foley_proto.v1 import engine_pb2 as pb

from .clips import ClipWindow
from .media import media_origin
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
    snap: bool = False


def rational(seconds: Fraction) -> pb.RationalTime:
    """An exact RationalTime for a number of seconds."""
    return pb.RationalTime(value=seconds.numerator, rate_num=seconds.denominator, rate_den=1)


def job_spec(window: ClipWindow, options: GenerateOptions, index: int) -> pb.JobSpec:
    """The job for one clip. Each clip gets its own seed (options.seed + index)."""
    if window.media.path is None:
        raise ValueError(f"clip {window.name!r} has no media: {window.media.reason}")
    # The engine counts media time from the file's first frame.
    file_start = max(Fraction(0), window.media_start - media_origin(window.clip))
    spec = pb.JobSpec(
        video_path=str(window.media.path.absolute()),
        window=pb.Window(
            media_start=rational(file_start),
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
        snap=options.snap,
    )
    for name in ("semantic_strength", "temporal_strength", "guidance_scale"):
        value = getattr(options, name)
        if value is not None:
            setattr(spec, name, value)
    return spec


def input_hash(spec: pb.JobSpec, info: pb.EngineInfo) -> str:
    """A hash of everything that determines a clip's audio.

    That is the job (media path, window and time map, cues, spans, prompt,
    strengths, seed, steps, guidance, sample rate, snap settings), the media
    file's identity (size and modification time), and the engine as GetInfo
    describes it (model name, training state and weights digest, engine version,
    device, and the defaults that fill in what the job leaves unset). The clip's name is
    left out: renaming a clip does not change its sound. It keys the clips
    that `resume` keeps, so anything here that changes makes a new job.
    """
    job = pb.JobSpec()
    job.CopyFrom(spec)
    job.ClearField("client_tag")
    engine = pb.EngineInfo()
    engine.CopyFrom(info)
    engine.ClearField("limits")  # what the engine accepts, not how it sounds
    media = b""
    if job.video_path:
        stat = os.stat(job.video_path)
        media = f"{stat.st_size}:{stat.st_mtime_ns}".encode()
    digest = hashlib.sha256()
    for part in (job.SerializeToString(deterministic=True), engine.SerializeToString(deterministic=True), media):
        digest.update(len(part).to_bytes(8, "little") + part)  # length first: no two splits read alike
    return digest.hexdigest()


def clip_metadata(spec: pb.JobSpec, info: pb.EngineInfo, job_id: str, seed: int) -> dict:
    """What goes into the Foley clip's `metadata["foley"]`: enough to regenerate it.

    Parameters the user left to the engine are recorded with the values the
    engine used (its defaults from GetInfo).
    """
    defaults = {adapter.name: adapter.default_strength for adapter in info.adapters}
    return {
        "model": info.model_name,
        "model_trained": info.model_trained,
        "job_id": job_id,
        "seed": seed,
        "input_hash": input_hash(spec, info),
        "steps": spec.steps or info.default_steps,
        "guidance_scale": _rounded(spec.guidance_scale if spec.HasField("guidance_scale") else info.default_guidance_scale),
        "temporal_strength": _rounded(
            spec.temporal_strength if spec.HasField("temporal_strength") else defaults.get("temporal", 0.0)
        ),
        "semantic_strength": _rounded(
            spec.semantic_strength if spec.HasField("semantic_strength") else defaults.get("semantic", 0.0)
        ),
        "prompt": spec.prompt,
        "sample_rate": spec.sample_rate,
        "snap": spec.snap,
        "cues": len(spec.cues),
        "spans": len(spec.spans),
        "video": spec.video_path,
    }


def _rounded(value: float) -> float:
    # float32 on the wire: 4.5 stays 4.5, 0.7 would otherwise read 0.699999988.
    return round(value, 6)
