"""The synchronisation benchmark: does the temporal adapter put transients on the cue frames?

On a dataset split (the test split's recordings are never heard in training),
every paired clip is generated through `FoleyEngine.generate` under each
condition: the base model alone (no cues), and base + temporal adapter given the
clip's true onsets (exact frame times from its metadata) as cues at each
temporal strength. Every clip of every condition uses the same seed (the run's
seed + the clip's index), so conditions differ only by the adapter.

Each output is scored as it came out and again after transient snapping with
the same cues (`foley_engine.snapping`, applied to that same audio), so the
adapter's own effect stays visible next to what snapping adds. Every row also
gets its chance baseline: the same audio scored against another clip's cues.

With `cues="video"` the cued conditions get no cues at all: the engine's event
detector finds the contacts in each clip's video (`video_cues`, as the plugin's
`--cues video` asks), and the audio is still scored against the true onsets;
snapping then moves transients onto the detected cues (what the generation was
given), and the figures draw the detected cues beside the true ones. Every condition
runs the semantic adapter at strength 0 unless `semantic_strengths` adds rows
with both adapters.

Audio-only clips are skipped: they have no picture and no frame rate, so they
can neither drive a video-to-audio model nor define a frame tolerance.

With `reference` the table also holds the measuring chain's ceiling: the true
recording itself, and Griffin-Lim of its true mel (what a perfect diffusion model
would hand the vocoder).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..audio_io import read_wav
from ..config import AUDIO
from ..data import ClipRecord, load_split
from ..engine import DEFAULT_GUIDANCE_SCALE, PEAK_CEILING, FoleyEngine
from ..mel import log_mel
from ..metrics import derangement, precise_onsets
from ..request import DetectionRequest, EventSpan, GenerationRequest, OnsetCue, TimeMap
from ..snapping import DEFAULT_REACH_MS, snap_transients
from ..vocoder import GriffinLimVocoder
from .detector_error import measure_detectors
from .figures import Panel, sync_figure
from .report import markdown, write_report
from .scoring import ClipScores, Cues, Row, pool_row, score_clip
from .speed import measure_speed

Log = Callable[[str], None]
RECORDED = "reference (recorded)"
RESYNTHESISED = "reference (Griffin-Lim of true mel)"


@dataclass(frozen=True)
class SyncConfig:
    """What `run_sync` measures, and where it writes."""

    data: Path
    out: Path
    model: Path | None = None  # None: score the reference chain only
    split: str = "test"
    limit: int | None = None  # at most this many paired clips
    steps: int = 25
    strengths: tuple[float, ...] = (0.0, 0.5, 1.0, 1.5)
    reference: bool = False
    snap_reach_ms: float = DEFAULT_REACH_MS
    seed: int = 0
    device: str = "cpu"
    speed_runs: int = 4  # 0 skips the speed measurement
    speed_steps: int = 25
    figures: int = 3  # clips drawn
    # Where the temporal adapter's cues come from: "true" (the clips' onsets, as an editor's
    # markers would give them) or "video" (the model's event detector, `video_cues`).
    cues: str = "true"
    # With a trained semantic adapter: also generate with both adapters, each temporal
    # strength paired with each of these semantic strengths.
    semantic_strengths: tuple[float, ...] = ()


CUE_SOURCES = ("true", "video")


@dataclass(frozen=True)
class Condition:
    """One way of generating: with or without the cues, at a temporal (and semantic) strength.

    The semantic adapter is off (strength 0) unless a condition names it, so the
    temporal adapter's rows measure that adapter alone.
    """

    name: str
    with_cues: bool
    temporal_strength: float | None = None
    semantic_strength: float = 0.0


def model_conditions(strengths: Sequence[float], semantic_strengths: Sequence[float] = ()) -> list[Condition]:
    """The base model, base + temporal adapter at each strength, then both adapters at each pair."""
    conditions = [Condition("base", with_cues=False)]
    conditions += [
        Condition(f"temporal@{strength:g}", with_cues=True, temporal_strength=strength) for strength in strengths
    ]
    conditions += [
        Condition(f"temporal@{t:g}+semantic@{s:g}", with_cues=True, temporal_strength=t, semantic_strength=s)
        for t in strengths
        if t > 0
        for s in semantic_strengths
    ]
    return conditions


@dataclass
class _Outputs:
    """One condition's scores (as generated and snapped), and the audio of the clips to be drawn."""

    raw: list[ClipScores] = field(default_factory=list)
    snapped: list[ClipScores] = field(default_factory=list)
    limited: int = 0
    drawn: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)


class _Bench:
    """The clips, their references and cues, and how to score an output of one of them."""

    def __init__(self, clips: Sequence[ClipRecord], config: SyncConfig) -> None:
        self.clips = list(clips)
        self.config = config
        self.references = [read_wav(clip.audio)[0] for clip in self.clips]
        self.cues = [Cues(tuple(onset.seconds for onset in clip.onsets), 1 / clip.fps) for clip in self.clips]
        self.others = derangement(len(self.clips)) if len(self.clips) >= 2 else None
        self.drawn = {clip.id for clip in self.clips[: config.figures]}  # clips whose audio is kept for figures
        # What snapping moves transients onto: the cues the generation was given.
        self.snap_to: list[tuple[Fraction, ...]] = [cues.times for cues in self.cues]

    def score(self, outputs: _Outputs, index: int, audio: np.ndarray) -> None:
        clip, cues = self.clips[index], self.cues[index]
        chance = None if self.others is None else self.cues[self.others[index]]
        snapped = snap_transients(audio, AUDIO.sample_rate, self.snap_to[index], self.config.snap_reach_ms).samples
        reference = self.references[index]
        outputs.raw.append(score_clip(clip.id, audio, reference, AUDIO.sample_rate, cues, chance))
        outputs.snapped.append(score_clip(clip.id, snapped, reference, AUDIO.sample_rate, cues, chance))
        if clip.id in self.drawn:
            outputs.drawn[clip.id] = (audio, snapped)


def _request(
    clip: ClipRecord, samples: int, condition: Condition, seed: int, config: SyncConfig
) -> GenerationRequest:
    true_cues = condition.with_cues and config.cues == "true"
    return GenerationRequest(
        video_path=clip.video,
        window=_window(samples),
        cues=tuple(OnsetCue(onset.seconds, onset.label) for onset in clip.onsets) if true_cues else (),
        video_cues=condition.with_cues and config.cues == "video",
        temporal_strength=condition.temporal_strength,
        semantic_strength=condition.semantic_strength,
        seed=seed,
        steps=config.steps,
    )


def _window(samples: int) -> TimeMap:
    return TimeMap(media_start=Fraction(0), duration=Fraction(samples, AUDIO.sample_rate))


def _generate(engine: FoleyEngine, bench: _Bench, condition: Condition, log: Log) -> _Outputs:
    outputs = _Outputs()
    for index, clip in enumerate(bench.clips):
        log(f"{condition.name}: clip {index + 1}/{len(bench.clips)} ({clip.id})")
        request = _request(clip, len(bench.references[index]), condition, bench.config.seed + index, bench.config)
        generated = engine.generate(request)
        outputs.limited += generated.stats["peak_before_limit"] > 1.0
        bench.score(outputs, index, generated.samples)
    return outputs


def _reference_outputs(bench: _Bench, vocoder: GriffinLimVocoder, log: Log) -> dict[str, _Outputs]:
    recorded, resynthesised = _Outputs(), _Outputs()
    for index, reference in enumerate(bench.references):
        log(f"reference: clip {index + 1}/{len(bench.clips)}")
        bench.score(recorded, index, reference)
        with torch.no_grad():
            mel = log_mel(torch.as_tensor(reference)[None].to(vocoder.device))
            audio = vocoder(mel)[0].float().cpu().numpy()[: len(reference)]
        # The engine's own level stage, so this row is read like a model's.
        peak = float(np.max(np.abs(audio)))
        if peak > 1.0:
            audio = audio * (PEAK_CEILING / peak)
            resynthesised.limited += 1
        bench.score(resynthesised, index, audio)
    return {RECORDED: recorded, RESYNTHESISED: resynthesised}


def _speed(engine: FoleyEngine, clip: ClipRecord, config: SyncConfig) -> dict[str, Any]:
    # Both adapter slots active: the true onsets as cues and the whole window as one event span.
    window = AUDIO.window_seconds
    request = GenerationRequest(
        video_path=clip.video,
        window=TimeMap(media_start=Fraction(0), duration=window),
        cues=tuple(OnsetCue(onset.seconds) for onset in clip.onsets if onset.seconds < window),
        spans=(EventSpan(Fraction(0), window, clip.labels[0] if clip.labels else ""),),
        temporal_strength=1.0,
        semantic_strength=1.0,
        seed=config.seed,
        steps=config.speed_steps,
        guidance_scale=DEFAULT_GUIDANCE_SCALE,
    )
    report = measure_speed(engine, request, config.speed_runs)
    return {
        **report.as_dict(),
        "window_s": float(window),
        "steps": config.speed_steps,
        "guidance_scale": DEFAULT_GUIDANCE_SCALE,
    }


def _figure_panels(bench: _Bench, index: int, outputs: dict[str, _Outputs], names: Sequence[str]) -> list[Panel]:
    clip, reference = bench.clips[index], bench.references[index]
    panels = [Panel(RECORDED, reference, tuple(precise_onsets(reference, AUDIO.sample_rate)))]
    for name in names:
        raw, snapped = outputs[name].drawn[clip.id]
        panels.append(Panel(name, raw, outputs[name].raw[index].detected))
        panels.append(Panel(f"{name} + snapping", snapped, outputs[name].snapped[index].detected))
    return panels


def _drawn_conditions(outputs: dict[str, _Outputs], strengths: Sequence[float]) -> list[str]:
    """What a figure shows: the base model and the adapter at the strength nearest 1, or the Griffin-Lim reference."""
    if "base" not in outputs:
        return [RESYNTHESISED]
    names = ["base"]
    if strengths:
        nearest = min(strengths, key=lambda strength: (abs(strength - 1.0), -strength))
        names.append(f"temporal@{nearest:g}")
    return names


def run_sync(config: SyncConfig, log: Log = print) -> dict[str, Any]:
    """Run the benchmark, write sync.json, sync.md and the figures into `config.out`, and return the report."""
    if config.model is None and not config.reference:
        raise ValueError("nothing to measure: give a model, or ask for the reference chain")
    if config.cues not in CUE_SOURCES:
        raise ValueError(f"cues must be one of {CUE_SOURCES}, got {config.cues!r}")
    if config.cues == "video" and config.model is None:
        raise ValueError("cues from video need a model with an event detector")
    all_clips = load_split(config.data, config.split)
    paired = [clip for clip in all_clips if clip.kind == "paired"]
    clips = paired[: config.limit] if config.limit is not None else paired
    if not clips:
        raise ValueError(f"{config.data}: the {config.split} split has no paired clips")
    bench = _Bench(clips, config)

    log(f"measuring the onset detectors on {len(all_clips)} {config.split} clips and synthetic hits")
    detector = measure_detectors(all_clips)

    outputs: dict[str, _Outputs] = {}
    engine = None
    if config.model is not None:
        engine = FoleyEngine.load(config.model, device=config.device)
        if config.cues == "video" and not engine.info().event_detector:
            raise ValueError(f"{config.model}: this model has no event detector, so it cannot take cues from video")
        if config.cues == "video":
            log("detecting the cues in every clip's video")
            bench.snap_to = [
                tuple(onset.time for onset in engine.detect(DetectionRequest(clip.video, _window(len(ref)))).onsets)
                for clip, ref in zip(bench.clips, bench.references)
            ]
        for condition in model_conditions(config.strengths, config.semantic_strengths):
            outputs[condition.name] = _generate(engine, bench, condition, log)
    if config.reference:
        vocoder = engine.pipeline.vocoder if engine is not None else GriffinLimVocoder().to(config.device)
        outputs.update(_reference_outputs(bench, vocoder, log))

    order = [name for name in (RECORDED, RESYNTHESISED) if name in outputs]
    order += [name for name in outputs if name not in order]
    rows: list[Row] = []
    for name in order:
        item = outputs[name]
        rows.append(pool_row(name, False, item.raw, item.limited))
        rows.append(pool_row(name, True, item.snapped, item.limited))

    speed = None
    if engine is not None and config.speed_runs > 0:
        log(f"timing one window: {config.speed_steps} steps, {config.speed_runs} run(s)")
        speed = _speed(engine, clips[0], config)

    config.out.mkdir(parents=True, exist_ok=True)
    figures = []
    names = _drawn_conditions(outputs, config.strengths)
    for index, clip in enumerate(bench.clips[: config.figures]):
        labels = ", ".join(clip.labels)
        title = f"{clip.id}: {clip.rhythm}, {labels}, {float(clip.fps):.3f} fps, seed {config.seed + index}"
        name = f"sync_{clip.id}.png"
        video_cues = bench.snap_to[index] if config.cues == "video" else ()
        panels = _figure_panels(bench, index, outputs, names)
        sync_figure(config.out / name, title, panels, bench.cues[index].times, video_cues)
        figures.append(name)

    settings = {key: (str(value) if isinstance(value, Path) else value) for key, value in asdict(config).items()}
    report = {
        "settings": settings,
        "model": None if engine is None else asdict(engine.info()),
        "clips": len(clips),
        "skipped_audio_only": len(all_clips) - len(paired),
        "chance_cues_from": None
        if bench.others is None
        else {clip.id: clips[other].id for clip, other in zip(clips, bench.others)},
        "rows": [row.as_dict() for row in rows],
        "per_clip": {
            name: {"raw": [s.as_dict() for s in item.raw], "snapped": [s.as_dict() for s in item.snapped]}
            for name, item in outputs.items()
        },
        "detector_error": detector.as_dict(),
        "speed": speed,
        "figures": figures,
    }
    write_report(config.out, report, rows)
    log(markdown(report, rows))
    return report
