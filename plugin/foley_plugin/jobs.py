"""From a clip's window on the timeline to the engine's job spec, and back to metadata."""

from __future__ import annotations

import enum
import hashlib
import os
from dataclasses import dataclass
from fractions import Fraction

from foley_proto.v1 import engine_pb2 as pb

from .clips import ClipWindow
from .errors import PluginError
from .media import media_origin
from .timeutil import to_seconds


class CueSource(enum.Enum):
    """Where a clip's onset cues come from (`foley generate --cues`).

    Event spans (markers with a duration) are sent whatever this says: they
    drive the semantic adapter, not the onsets.
    """

    # The clip's markers where it has marker cues, otherwise the onsets the engine sees in its video.
    AUTO = "auto"
    MARKERS = "markers"
    VIDEO = "video"
    BOTH = "both"
    NONE = "none"


@dataclass(frozen=True)
class CuePlan:
    """What one clip's job asks for: its marker cues sent, and the engine's video onsets added."""

    markers: bool
    video: bool


def plan_cues(source: CueSource, window: ClipWindow, detector: bool) -> CuePlan:
    """The cues of `window` under `source`, for an engine whose model has (`detector`) a video
    event detector or not. Without one, `auto` keeps to the markers; `video` and `both` must
    have been refused before (see `check_cue_source`)."""
    if source is CueSource.AUTO:
        return CuePlan(markers=bool(window.cues), video=not window.cues and detector)
    return CuePlan(
        markers=source in (CueSource.MARKERS, CueSource.BOTH),
        video=source in (CueSource.VIDEO, CueSource.BOTH),
    )


def check_cue_source(source: CueSource, info: pb.EngineInfo, windows: list[ClipWindow]) -> str | None:
    """Whether the engine can give the cues `source` asks for, before any generation.

    PluginError when `video` or `both` asks for video onsets from a model without
    an event detector; for `auto` on such a model, a one-line notice when some clip
    has no marker cues (it gets no onset cues at all); None otherwise.
    """
    if info.event_detector:
        return None
    if source in (CueSource.VIDEO, CueSource.BOTH):
        raise PluginError(
            f"--cues {source.value}: the engine's model {info.model_name!r} has no video event detector, so it "
            "cannot find cues in the video; load a model that has one (--model DIR, or `foley-engine serve "
            "--model DIR`), or use --cues markers"
        )
    bare = sum(not window.cues for window in windows)
    if source is CueSource.AUTO and bare:
        return (
            f"the engine's model {info.model_name!r} has no video event detector: using markers only, "
            f"so {bare} clip(s) without markers get no onset cues"
        )
    return None


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
    cues: CueSource = CueSource.AUTO


def rational(seconds: Fraction) -> pb.RationalTime:
    """An exact RationalTime for a number of seconds."""
    return pb.RationalTime(value=seconds.numerator, rate_num=seconds.denominator, rate_den=1)


def _video_window(window: ClipWindow) -> tuple[str, pb.Window]:
    """The video file and the window of it a clip shows, as the engine takes them."""
    if window.media.path is None:
        raise ValueError(f"clip {window.name!r} has no media: {window.media.reason}")
    # The engine counts media time from the file's first frame.
    file_start = max(Fraction(0), window.media_start - media_origin(window.clip))
    return str(window.media.path.absolute()), pb.Window(
        media_start=rational(file_start),
        duration=rational(to_seconds(window.duration)),
        speed=pb.Ratio(num=window.speed.numerator, den=window.speed.denominator),
    )


def detect_request(window: ClipWindow) -> pb.DetectRequest:
    """The engine's Detect request for one clip: the same video and window a job for it has."""
    video_path, video_window = _video_window(window)
    return pb.DetectRequest(video_path=video_path, window=video_window, client_tag=window.name)


def job_spec(window: ClipWindow, options: GenerateOptions, index: int, detector: bool) -> pb.JobSpec:
    """The job for one clip. Each clip gets its own seed (options.seed + index); its cues are
    those `plan_cues` picks for `options.cues` on an engine with (`detector`) or without an
    event detector."""
    video_path, video_window = _video_window(window)
    plan = plan_cues(options.cues, window, detector)
    cues = window.cues if plan.markers else ()
    spec = pb.JobSpec(
        video_path=video_path,
        window=video_window,
        cues=[pb.OnsetCue(time=rational(cue.time), label=cue.label) for cue in cues],
        spans=[pb.EventSpan(start=rational(s.start), end=rational(s.end), label=s.label) for s in window.spans],
        video_cues=plan.video,
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


def input_hash(spec: pb.JobSpec, info: pb.EngineInfo, cue_source: CueSource) -> str:
    """A hash of everything that determines a clip's audio.

    That is the job (media path, window and time map, cues, spans, prompt,
    strengths, seed, steps, guidance, sample rate, snap settings, video cues),
    where its cues were asked to come from (`--cues`: a run with another
    choice never reuses a clip), the media file's identity (size and
    modification time), and the engine as GetInfo describes it (model name,
    training state and weights digest, engine version, device, whether it has
    an event detector, and the defaults that fill in what the job leaves
    unset). The clip's name is left out: renaming a clip does not change its
    sound. It keys the clips that `resume` keeps, so anything here that
    changes makes a new job.
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
    parts = (
        job.SerializeToString(deterministic=True),
        engine.SerializeToString(deterministic=True),
        media,
        cue_source.value.encode(),
    )
    for part in parts:
        digest.update(len(part).to_bytes(8, "little") + part)  # length first: no two splits read alike
    return digest.hexdigest()


def clip_metadata(spec: pb.JobSpec, info: pb.EngineInfo, job_id: str, seed: int, cue_source: CueSource) -> dict:
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
        "input_hash": input_hash(spec, info, cue_source),
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
        "cue_source": cue_source.value,
        "video_cues": spec.video_cues,
        "spans": len(spec.spans),
        "video": spec.video_path,
    }


def _rounded(value: float) -> float:
    # float32 on the wire: 4.5 stays 4.5, 0.7 would otherwise read 0.699999988.
    return round(value, 6)
