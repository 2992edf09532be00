"""Converters between the wire messages and the engine's domain values."""

from __future__ import annotations

import hashlib
import math
import secrets
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import numpy as np

from foley_engine.engine import ModelInfo
from foley_engine.errors import InvalidRequest
from foley_engine.request import (
    Detection,
    DetectionRequest,
    EventSpan,
    GeneratedAudio,
    GenerationRequest,
    OnsetCue,
    TimeMap,
)
from foley_proto.v1 import engine_pb2 as pb

from .config import Limits

MAX_LABEL_CHARS = 200


def seconds(time: pb.RationalTime, field: str) -> Fraction:
    """The exact number of seconds a RationalTime stands for."""
    if time.rate_num == 0 or time.rate_den == 0:
        raise InvalidRequest(field, "rate_num and rate_den must both be positive")
    return Fraction(time.value * time.rate_den, time.rate_num)


def rational_time(value: Fraction) -> pb.RationalTime:
    """A RationalTime for an exact number of seconds (rate = the fraction's denominator)."""
    return pb.RationalTime(value=value.numerator, rate_num=value.denominator, rate_den=1)


def request_from_spec(
    spec: pb.JobSpec, limits: Limits, video_path: Callable[[pb.JobSpec | pb.DetectRequest], Path]
) -> GenerationRequest:
    """Check a JobSpec's structure and limits and build the engine's request.

    `video_path` turns the spec's video source into a readable file (or raises).
    """
    if not spec.HasField("window"):
        raise InvalidRequest("window", "is required")
    window = _time_map(spec.window, limits)
    if len(spec.cues) > limits.max_cues:
        raise InvalidRequest("cues", f"has {len(spec.cues)} cues; at most {limits.max_cues}")
    if len(spec.spans) > limits.max_spans:
        raise InvalidRequest("spans", f"has {len(spec.spans)} spans; at most {limits.max_spans}")
    if len(spec.prompt) > limits.max_prompt_chars:
        raise InvalidRequest("prompt", f"is longer than {limits.max_prompt_chars} characters")
    if spec.steps > limits.max_steps:
        raise InvalidRequest("steps", f"must be at most {limits.max_steps}")
    cues = tuple(_cue(cue, i, window.duration) for i, cue in enumerate(spec.cues))
    spans = tuple(_span(span, i, window.duration) for i, span in enumerate(spec.spans))
    for name in ("semantic_strength", "temporal_strength", "guidance_scale", "snap_reach_ms"):
        if spec.HasField(name) and not math.isfinite(getattr(spec, name)):
            raise InvalidRequest(name, "must be a finite number")
    if spec.WhichOneof("video") is None:
        raise InvalidRequest("video", "set video_path or upload_id")
    return GenerationRequest(
        video_path=video_path(spec),
        window=window,
        cues=cues,
        spans=spans,
        prompt=spec.prompt,
        semantic_strength=spec.semantic_strength if spec.HasField("semantic_strength") else None,
        temporal_strength=spec.temporal_strength if spec.HasField("temporal_strength") else None,
        seed=spec.seed if spec.HasField("seed") else secrets.randbits(32),
        steps=spec.steps or None,
        guidance_scale=spec.guidance_scale if spec.HasField("guidance_scale") else None,
        sample_rate=spec.sample_rate or None,
        snap=spec.snap,
        snap_reach_ms=spec.snap_reach_ms if spec.HasField("snap_reach_ms") else None,
        video_cues=spec.video_cues,
    )


def detection_from_request(
    request: pb.DetectRequest, limits: Limits, video_path: Callable[[pb.JobSpec | pb.DetectRequest], Path]
) -> DetectionRequest:
    """Check a DetectRequest's structure and limits (as `request_from_spec` checks a JobSpec's
    video and window) and build the engine's detection request."""
    if not request.HasField("window"):
        raise InvalidRequest("window", "is required")
    window = _time_map(request.window, limits)
    if request.WhichOneof("video") is None:
        raise InvalidRequest("video", "set video_path or upload_id")
    return DetectionRequest(video_path=video_path(request), window=window)


def detect_response(detection: Detection, model_name: str) -> pb.DetectResponse:
    """Detect's answer: the onsets and events at exact times, and the analysed frame rate."""
    return pb.DetectResponse(
        onsets=[
            pb.OnsetCue(time=rational_time(onset.time), label=onset.label, confidence=onset.confidence)
            for onset in detection.onsets
        ],
        events=[
            pb.EventSpan(
                start=rational_time(event.start),
                end=rational_time(event.end),
                label=event.label,
                confidence=event.confidence,
            )
            for event in detection.events
        ],
        fps=pb.Ratio(num=detection.fps.numerator, den=detection.fps.denominator),
        model_name=model_name,
    )


def _time_map(window: pb.Window, limits: Limits) -> TimeMap:
    if not window.HasField("duration"):
        raise InvalidRequest("window.duration", "is required")
    duration = seconds(window.duration, "window.duration")
    if duration <= 0:
        raise InvalidRequest("window.duration", "must be positive")
    if duration * 1000 > limits.max_clip_ms:
        raise InvalidRequest("window.duration", f"is longer than {limits.max_clip_ms} ms")
    start = seconds(window.media_start, "window.media_start") if window.HasField("media_start") else Fraction(0)
    if start < 0:
        raise InvalidRequest("window.media_start", "must not be negative")
    speed = Fraction(1)
    if window.HasField("speed"):
        if window.speed.den == 0:
            raise InvalidRequest("window.speed.den", "must not be zero")
        speed = Fraction(window.speed.num, window.speed.den)
    return TimeMap(media_start=start, duration=duration, speed=speed)


def _label(text: str, field: str) -> str:
    if len(text) > MAX_LABEL_CHARS:
        raise InvalidRequest(field, f"is longer than {MAX_LABEL_CHARS} characters")
    return text


def _confidence(message: pb.OnsetCue | pb.EventSpan, field: str) -> float:
    # Unset is an editor's marker: certain.
    if not message.HasField("confidence"):
        return 1.0
    if not (math.isfinite(message.confidence) and 0 <= message.confidence <= 1):
        raise InvalidRequest(field, "must be between 0 and 1")
    return message.confidence


def _cue(cue: pb.OnsetCue, index: int, duration: Fraction) -> OnsetCue:
    field = f"cues[{index}].time"
    time = seconds(cue.time, field)
    if not 0 <= time <= duration:
        raise InvalidRequest(field, "lies outside the window")
    return OnsetCue(
        time=time,
        label=_label(cue.label, f"cues[{index}].label"),
        confidence=_confidence(cue, f"cues[{index}].confidence"),
    )


def _span(span: pb.EventSpan, index: int, duration: Fraction) -> EventSpan:
    start = seconds(span.start, f"spans[{index}].start")
    end = seconds(span.end, f"spans[{index}].end")
    if not 0 <= start < end <= duration:
        raise InvalidRequest(f"spans[{index}]", "needs 0 <= start < end <= window duration")
    return EventSpan(
        start=start,
        end=end,
        label=_label(span.label, f"spans[{index}].label"),
        confidence=_confidence(span, f"spans[{index}].confidence"),
    )


def audio_bytes(audio: GeneratedAudio) -> tuple[bytes, pb.AudioInfo]:
    """The wire form of generated audio: f32le samples and their description."""
    data = np.ascontiguousarray(audio.samples, dtype="<f4").tobytes()
    count = len(audio.samples)
    info = pb.AudioInfo(
        sample_rate=audio.sample_rate,
        channels=1,
        sample_count=count,
        format=pb.SAMPLE_FORMAT_F32LE,
        byte_count=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        duration_samples=count,
    )
    return data, info


def engine_info(model: ModelInfo, limits: Limits, version: str) -> pb.EngineInfo:
    """GetInfo's answer; its `event_detector` says whether the model can Detect (and take video_cues)."""
    return pb.EngineInfo(
        engine_version=version,
        model_name=model.name,
        model_trained=model.trained,
        adapters=[
            pb.AdapterInfo(name=a.name, default_strength=a.default_strength, trained=a.trained)
            for a in model.adapters
        ],
        device=model.device,
        limits=pb.Limits(
            max_clip_ms=limits.max_clip_ms,
            max_cues=limits.max_cues,
            max_spans=limits.max_spans,
            max_prompt_chars=limits.max_prompt_chars,
            max_upload_bytes=limits.max_upload_bytes,
            max_queue=limits.max_queue,
            max_steps=limits.max_steps,
            max_video_pixels=limits.max_video_pixels,
            max_video_frames=limits.max_video_frames,
        ),
        model_sample_rate=model.sample_rate,
        window_samples=model.window_samples,
        default_steps=model.default_steps,
        default_guidance_scale=model.default_guidance_scale,
        model_digest=model.digest,
        event_detector=model.event_detector,
    )
