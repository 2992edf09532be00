"""The semantic benchmark (the paper's Table IV ablation): does the semantic adapter make the right kind of sound?

On a dataset split's paired clips (the test split's recordings are never heard
in training), every clip is generated under each condition with the same seed
(the run's seed + the clip's index), its own video features and its true
onsets as the temporal adapter's cues, so conditions differ only in what the
semantic adapter is given:

- `base+temporal`: the semantic adapter off;
- `events only`: the span mask of the clip's true events, no text;
- `text only`: each event's text at its centre, the span mask empty;
- `events + text`: both,

each at every semantic strength asked for. A clip's events are its labelled
onsets, each lasting until its sound decays (`sound_spans` on the true audio)
and named by its class, turned into the adapter's inputs by `window_text`
exactly as the engine turns a description into them. The summary slot stays
empty: the ablation measures the events' own words, not a prompt.

Scores, per condition:
- class accuracy: `EventClassifier` (trained on the train split's events) on the
  generated audio at each true onset, against the event's class;
- FD: the Fréchet distance between the per-clip mean CAVP audio embeddings of
  the generated audio and of the true audio;
- KL: the mean over events of KL(reference ‖ generated) of the classifier's class
  distributions at the same onset.
The true audio is scored too (the classifier's accuracy there is the ceiling),
and so is Griffin-Lim of its true mel (the ceiling of any audio that passes
through the vocoder, as every generated clip does).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from ..audio_io import read_wav
from ..config import AUDIO
from ..conversion.diff_foley import AUDIO_ENCODER_FOLDER
from ..data import ClipRecord, load_split
from ..data.taxonomy import CLASSES
from ..describer import MAX_EVENTS, Description, time_order
from ..engine import (
    DEFAULT_CHECKPOINT,
    DEFAULT_GUIDANCE_SCALE,
    DEFAULT_SEMANTIC_STRENGTH,
    DEFAULT_STEPS,
    DEFAULT_TEMPORAL_STRENGTH,
    PEAK_CEILING,
    FoleyEngine,
)
from ..errors import ModelError
from ..mel import log_mel
from ..metrics.distributions import frechet_distance, kl_divergence
from ..onsets import onset_mask, sound_spans
from ..pipeline import RhythmicFoleyPipeline
from ..request import EventSpan, TimeMap
from ..semantics import WindowText, window_text
from ..training.components import load_saved
from ..training.frozen_parts import AUDIO_TOWERS, AudioTower, frozen
from ..video import sample_frames
from .classifier import (
    ClassifierTraining,
    EventClassifier,
    accuracy,
    audio_crops,
    class_index,
    load_or_train,
    predict,
    record_events,
)
from .report import _cell, _finite

Log = Callable[[str], None]
BASE = "base+temporal"
RECORDED = "reference (recorded)"
RESYNTHESISED = "reference (Griffin-Lim of true mel)"
# The product's target: events + text at least this much more accurate than the semantic adapter off.
TARGET_GAIN = 0.10


@dataclass(frozen=True)
class SemanticConfig:
    """What `run_semantic` measures, and where it writes."""

    data: Path
    out: Path
    model: Path = DEFAULT_CHECKPOINT
    audio_tower: Path | None = None  # None: the model's own `audio_encoder/`
    classifier: Path | None = None  # where the event classifier is cached; None: out / "classifier"
    split: str = "test"
    limit: int | None = None  # at most this many paired clips
    steps: int = DEFAULT_STEPS
    semantic_strengths: tuple[float, ...] = (DEFAULT_SEMANTIC_STRENGTH,)
    temporal_strength: float = DEFAULT_TEMPORAL_STRENGTH
    guidance_scale: float = DEFAULT_GUIDANCE_SCALE
    seed: int = 0
    device: str = "cpu"

    @property
    def classifier_folder(self) -> Path:
        return self.classifier if self.classifier is not None else self.out / "classifier"


@dataclass(frozen=True)
class Condition:
    """One way of conditioning the semantic adapter."""

    name: str
    semantic_strength: float | None  # None: the adapter is off
    spans: bool = False  # the span mask holds the events (else it is empty)
    text: bool = False  # the events' text reaches the adapter


def semantic_conditions(strengths: Sequence[float]) -> list[Condition]:
    """The adapter off, then events only, text only and both at each strength."""
    conditions = [Condition(BASE, None)]
    for strength in strengths:
        conditions += [
            Condition(f"semantic@{strength:g}: events only", strength, spans=True),
            Condition(f"semantic@{strength:g}: text only", strength, text=True),
            Condition(f"semantic@{strength:g}: events + text", strength, spans=True, text=True),
        ]
    return conditions


def clip_description(clip: ClipRecord, reference: np.ndarray) -> Description:
    """The clip's labelled onsets as events lasting until each sound decays, named by class."""
    spans = sound_spans(reference, AUDIO.sample_rate, [onset.seconds for onset in clip.onsets])
    events = [
        EventSpan(Fraction(start), Fraction(end), onset.label) for (start, end), onset in zip(spans, clip.onsets)
    ]
    return Description(time_order(events), "")


def condition_inputs(condition: Condition, onsets: np.ndarray, text: WindowText) -> dict[str, Any]:
    """The pipeline's conditioning arguments for one clip (batch of one) under `condition`."""
    inputs: dict[str, Any] = {"onset_mask": onsets[None], "span_mask": None, "semantic_strength": 0.0}
    inputs.update(event_embeddings=None, event_centres=None)
    if condition.semantic_strength is None:
        return inputs
    inputs["semantic_strength"] = condition.semantic_strength
    # An empty span mask, not None: None would skip the adapter, and "text only" must run it.
    inputs["span_mask"] = (text.spans if condition.spans else np.zeros_like(text.spans))[None]
    if condition.text:
        inputs["event_embeddings"] = torch.from_numpy(text.embeddings)[None]
        inputs["event_centres"] = torch.from_numpy(text.centres)[None]
    return inputs


@dataclass(frozen=True)
class Case:
    """One clip as the benchmark feeds and scores it."""

    clip: ClipRecord
    reference: np.ndarray  # the true audio
    truth: np.ndarray  # (E,) class index of each labelled onset
    features: torch.Tensor  # (1, T, feature_dim) video features, the same under every condition
    onsets: np.ndarray  # (window_frames,) the temporal adapter's cues
    text: WindowText  # the semantic adapter's inputs
    described: int  # events that made it into the adapter's slots


def _case(pipe: RhythmicFoleyPipeline, clip: ClipRecord, slots: int) -> Case:
    reference, rate = read_wav(clip.audio)
    if rate != AUDIO.sample_rate or len(reference) != AUDIO.window_samples:
        raise ValueError(f"{clip.audio}: expected {AUDIO.window_samples} samples at {AUDIO.sample_rate} Hz")
    description = clip_description(clip, reference)
    text = window_text(description, Fraction(0), slots)
    return Case(
        clip=clip,
        reference=reference,
        truth=np.array([class_index(onset.label) for onset in clip.onsets], dtype=np.int64),
        features=clip_features(pipe, clip),
        onsets=onset_mask([onset.seconds for onset in clip.onsets], AUDIO.window_frames),
        text=text,
        described=min(len(description.events), slots - 1),
    )


def clip_features(pipe: RhythmicFoleyPipeline, clip: ClipRecord) -> torch.Tensor:
    """(1, T, feature_dim) video features of a clip's 4 fps frames, read as the video tower needs them."""
    size = pipe.video_encoder.config.image_size
    frames = np.load(clip.frames) if clip.frames is not None else None
    if frames is None or frames.shape[1:3] != (size, size):
        # The dataset's frames are stored at the small tower's size; another tower reads the video.
        frames = sample_frames(
            clip.video,
            TimeMap(media_start=Fraction(0), duration=AUDIO.window_seconds),
            fps=AUDIO.video_fps,
            size=(size, size),
            count=AUDIO.video_frames_per_window,
        )
    return pipe.encode_frames(frames[None])


def _levelled(audio: np.ndarray) -> tuple[np.ndarray, bool]:
    """The engine's level stage: over full scale is scaled down to PEAK_CEILING; True if it was."""
    peak = float(np.max(np.abs(audio))) if len(audio) else 0.0
    if peak > 1.0:
        return audio * (PEAK_CEILING / peak), True
    return audio, False


def audio_tower_folder(model: Path, audio_tower: Path | None) -> Path:
    """The saved CAVP audio tower to embed with: `audio_tower` (itself or its `audio_encoder/`) or the model's own."""
    if audio_tower is None:
        folder = Path(model) / AUDIO_ENCODER_FOLDER
        if (folder / "config.json").is_file():
            return folder
        raise ModelError(
            f"{model}: the pipeline holds no CAVP audio tower ({AUDIO_ENCODER_FOLDER}/), which the FD needs; "
            "pass --audio-tower with a `foley train cavp` folder (such as .cache/train/cavp) or a pipeline that has one"
        )
    for folder in (Path(audio_tower), Path(audio_tower) / AUDIO_ENCODER_FOLDER):
        if (folder / "config.json").is_file():
            return folder
    raise ModelError(
        f"{audio_tower}: no saved audio tower here (no config.json, nor {AUDIO_ENCODER_FOLDER}/config.json)"
    )


def load_audio_tower(folder: Path, device: str) -> AudioTower:
    """The audio tower saved in `folder` (ours or CAVP's Cnn14), frozen on `device`."""
    name = json.loads((folder / "config.json").read_text(encoding="utf-8")).get("_class_name")
    for cls in AUDIO_TOWERS:
        if cls.__name__ == name:
            return frozen(load_saved(cls, folder).to(device))
    raise ModelError(f"{folder}: holds a {name}, not an audio tower ({', '.join(c.__name__ for c in AUDIO_TOWERS)})")


@torch.no_grad()
def audio_embedding(tower: AudioTower, samples: np.ndarray) -> np.ndarray:
    """A clip's CAVP audio embedding: the tower's per-step features of its window, averaged."""
    waveform = torch.as_tensor(np.asarray(samples, dtype=np.float32))[None]
    waveform = F.pad(waveform, (0, max(0, AUDIO.window_samples - waveform.shape[-1])))[:, : AUDIO.window_samples]
    features = tower(log_mel(waveform).to(tower.device))
    return features.mean(dim=1)[0].double().cpu().numpy()


@dataclass
class _Scores:
    """One condition's per-clip classifier outputs and embeddings."""

    probabilities: list[np.ndarray] = field(default_factory=list)  # (E, classes) per clip
    embeddings: list[np.ndarray] = field(default_factory=list)  # (D,) per clip
    limited: int = 0


@dataclass(frozen=True)
class SemanticRow:
    """One line of the table: a condition's clips pooled."""

    name: str
    clips: int
    events: int
    accuracy: float
    fd: float | None  # None for the reference itself
    kl: float | None
    limited: int | None  # None where no level stage applies (the recording)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


class _Scorer:
    """The classifier and the audio tower, and how one output of a case is scored."""

    def __init__(self, classifier: EventClassifier, tower: AudioTower) -> None:
        self.classifier = classifier
        self.tower = tower

    def add(self, scores: _Scores, case: Case, audio: np.ndarray) -> None:
        onsets = [onset.seconds for onset in case.clip.onsets]
        scores.probabilities.append(predict(self.classifier, audio_crops(audio, onsets)))
        scores.embeddings.append(audio_embedding(self.tower, audio))


def _row(
    name: str, scores: _Scores, cases: Sequence[Case], reference: _Scores | None, limited: int | None
) -> SemanticRow:
    """`scores` pooled; FD and KL against `reference` (None: this is the reference)."""
    probabilities = np.concatenate(scores.probabilities)
    truth = np.concatenate([case.truth for case in cases])
    fd = kl = None
    if reference is not None:
        if len(cases) >= 2:
            fd = frechet_distance(np.stack(scores.embeddings), np.stack(reference.embeddings))
        kl = float(np.mean(kl_divergence(np.concatenate(reference.probabilities), probabilities)))
    return SemanticRow(name, len(cases), len(truth), accuracy(probabilities, truth), fd, kl, limited)


def _per_class(scores: _Scores, cases: Sequence[Case]) -> dict[str, dict[str, float | int]]:
    predicted = np.argmax(np.concatenate(scores.probabilities), axis=1)
    truth = np.concatenate([case.truth for case in cases])
    return {
        name: {"events": int(np.sum(truth == index)), "accuracy": float(np.mean(predicted[truth == index] == index))}
        for index, name in enumerate(CLASSES)
        if np.any(truth == index)
    }


def _per_clip(scores: _Scores, cases: Sequence[Case], reference: _Scores | None) -> list[dict[str, Any]]:
    rows = []
    for index, case in enumerate(cases):
        probabilities = scores.probabilities[index]
        item: dict[str, Any] = {
            "clip": case.clip.id,
            "events": len(case.truth),
            "accuracy": accuracy(probabilities, case.truth),
            "predicted": [CLASSES[i] for i in np.argmax(probabilities, axis=1)],
        }
        if reference is not None:
            item["kl"] = float(np.mean(kl_divergence(reference.probabilities[index], probabilities)))
        rows.append(item)
    return rows


def _generate(
    pipe: RhythmicFoleyPipeline, cases: Sequence[Case], condition: Condition, config: SemanticConfig, scorer: _Scorer
) -> _Scores:
    scores = _Scores()
    for index, case in enumerate(tqdm(cases, desc=condition.name, dynamic_ncols=True, mininterval=1.0)):
        mels = pipe(
            case.features,
            **condition_inputs(condition, case.onsets, case.text),
            temporal_strength=config.temporal_strength,
            num_inference_steps=config.steps,
            guidance_scale=config.guidance_scale,
            generator=torch.Generator(device="cpu").manual_seed(config.seed + index),
            output_type="mel",
        ).mels
        audio, limited = _levelled(pipe.vocoder(mels)[0].float().cpu().numpy())
        scores.limited += limited
        scorer.add(scores, case, audio)
    return scores


def _references(pipe: RhythmicFoleyPipeline, cases: Sequence[Case], scorer: _Scorer) -> tuple[_Scores, _Scores]:
    recorded, resynthesised = _Scores(), _Scores()
    for case in tqdm(cases, desc="references", dynamic_ncols=True, mininterval=1.0):
        scorer.add(recorded, case, case.reference)
        with torch.no_grad():
            mel = log_mel(torch.as_tensor(case.reference)[None]).to(pipe.vocoder.device)
            audio, limited = _levelled(pipe.vocoder(mel)[0].float().cpu().numpy())
        resynthesised.limited += limited
        scorer.add(resynthesised, case, audio)
    return recorded, resynthesised


def _skip_reason(pipe: RhythmicFoleyPipeline, condition: Condition) -> str | None:
    """Why `pipe` cannot run `condition`, or None."""
    if condition.text and pipe.semantic_projector is None:
        return "the model has no semantic_projector, so its semantic adapter cannot read text"
    return None


def _targets(rows: dict[str, SemanticRow], strengths: Sequence[float]) -> dict[str, dict[str, Any]]:
    """Events + text against the adapter off, at each strength."""
    base = rows[BASE].accuracy
    targets = {}
    for strength in strengths:
        both = rows.get(f"semantic@{strength:g}: events + text")
        gain = None if both is None else both.accuracy - base
        targets[f"{strength:g}"] = {"gain": gain, "met": None if gain is None else bool(gain >= TARGET_GAIN)}
    return targets


def run_semantic(config: SemanticConfig, log: Log = print) -> dict[str, Any]:
    """Run the benchmark, write semantic.json and semantic.md into `config.out`, and return the report."""
    all_clips = load_split(config.data, config.split)
    paired = [clip for clip in all_clips if clip.kind == "paired"]
    clips = paired[: config.limit] if config.limit is not None else paired
    if not clips:
        raise ValueError(f"{config.data}: the {config.split} split has no paired clips")
    # The model and the audio tower load first, so a wrong path fails before the classifier trains.
    engine = FoleyEngine.load(config.model, device=config.device)
    pipe = engine.pipeline
    pipe.set_progress_bar_config(disable=True)  # one bar per condition instead of one per clip
    tower_folder = audio_tower_folder(config.model, config.audio_tower)
    tower = load_audio_tower(tower_folder, config.device)

    trained = load_or_train(config.data, config.classifier_folder, ClassifierTraining(), config.device, log)
    log(f"event classifier: scoring the real {config.split} audio ({len(all_clips)} clips)")
    split_events = record_events(all_clips, f"{config.split} events")
    split_accuracy = accuracy(predict(trained.model, split_events.centred()), split_events.labels)
    scorer = _Scorer(trained.model, tower)
    # Without a projector the span mask still holds only as many events as one would.
    slots = pipe.semantic_projector.config.max_events if pipe.semantic_projector is not None else MAX_EVENTS + 1
    cases = [_case(pipe, clip, slots) for clip in tqdm(clips, desc="clips", dynamic_ncols=True, mininterval=1.0)]

    recorded, resynthesised = _references(pipe, cases, scorer)
    outputs = {RECORDED: recorded, RESYNTHESISED: resynthesised}
    skipped: dict[str, str] = {}
    for condition in semantic_conditions(config.semantic_strengths):
        reason = _skip_reason(pipe, condition)
        if reason is not None:
            log(f"{condition.name}: skipped ({reason})")
            skipped[condition.name] = reason
            continue
        outputs[condition.name] = _generate(pipe, cases, condition, config, scorer)

    rows = {RECORDED: _row(RECORDED, recorded, cases, None, None)}
    for name, scores in outputs.items():
        if name != RECORDED:
            rows[name] = _row(name, scores, cases, recorded, scores.limited)

    settings = {key: (str(value) if isinstance(value, Path) else value) for key, value in asdict(config).items()}
    report = {
        "settings": settings,
        "model": asdict(engine.info()),
        "audio_tower": str(tower_folder),
        "classifier": {
            "folder": str(trained.folder),
            "trained_now": trained.trained_now,
            "train_events": trained.record["train_events"],
            "val_events": trained.record["val_events"],
            "val_accuracy": trained.record["val_accuracy"],
            "split_events": len(split_events.labels),
            "split_accuracy": split_accuracy,
        },
        "clips": len(clips),
        "skipped_audio_only": len(all_clips) - len(paired),
        "events": int(sum(len(case.truth) for case in cases)),
        "undescribed_events": int(sum(len(case.truth) - case.described for case in cases)),
        "rows": [row.as_dict() for row in rows.values()],
        "target": {"gain": TARGET_GAIN, "by_strength": _targets(rows, config.semantic_strengths)},
        "skipped_conditions": skipped,
        "per_class": {name: _per_class(scores, cases) for name, scores in outputs.items()},
        "per_clip": {
            name: _per_clip(scores, cases, None if name == RECORDED else recorded) for name, scores in outputs.items()
        },
    }
    write_semantic_report(config.out, report)
    log(semantic_markdown(report))
    return report


COLUMNS = (
    ("condition", "name"),
    ("clips", "clips"),
    ("events", "events"),
    ("class acc", "accuracy"),
    ("FD", "fd"),
    ("KL", "kl"),
    ("limited", "limited"),
)

LEGEND = (
    "class acc: the event classifier's top class at each true onset (a 0.512 s log-mel crop from 32 ms before "
    "it) against the event's class. FD: Fréchet distance between Gaussians fitted to the per-clip mean CAVP audio "
    "embeddings of these clips and of their recordings (noisy and biased upwards below a few hundred clips). "
    "KL: mean over events of KL(recording ‖ this) of the classifier's class distributions at the onset, in nats. "
    "limited: outputs scaled down to a 0.98 peak because they went over full scale (the engine does this too)."
)


def semantic_table(rows: Sequence[dict[str, Any]]) -> str:
    """The rows (as in semantic.json) as a Markdown table, also readable as plain text."""
    lines = ["| " + " | ".join(title for title, _ in COLUMNS) + " |", "|" + "|".join("---" for _ in COLUMNS) + "|"]
    lines += ["| " + " | ".join(_cell(row[key]) for _, key in COLUMNS) + " |" for row in rows]
    return "\n".join(lines)


def semantic_markdown(report: dict[str, Any]) -> str:
    """The whole report as Markdown: settings, the classifier's own accuracy, the table and the target."""
    settings, model, classifier = report["settings"], report["model"], report["classifier"]
    semantic_trained = next(adapter["trained"] for adapter in model["adapters"] if adapter["name"] == "semantic")
    lines = [
        "# Semantic benchmark",
        "",
        f"Model: {model['name']} (semantic adapter {'trained' if semantic_trained else 'untrained'}); data: "
        f"{settings['data']} ({settings['split']} split, {report['clips']} paired clips with {report['events']} "
        f"labelled events, {report['undescribed_events']} of them beyond the adapter's slots; "
        f"{report['skipped_audio_only']} audio-only clips skipped); steps {settings['steps']}; guidance "
        f"{settings['guidance_scale']}; temporal strength {settings['temporal_strength']} on the true onsets; "
        f"seed {settings['seed']} + clip index; FD audio tower {report['audio_tower']}.",
        "",
        f"Event classifier ({classifier['folder']}, {'trained in this run' if classifier['trained_now'] else 'cached'}"
        f"): {classifier['train_events']} train events; accuracy {_cell(classifier['val_accuracy'])} on "
        f"{classifier['val_events']} val events and {_cell(classifier['split_accuracy'])} on the "
        f"{classifier['split_events']} events of the real {settings['split']} audio (paired and audio-only): "
        "the ceiling.",
        "",
        semantic_table(report["rows"]),
        "",
        LEGEND,
        "",
        f"Target: events + text at least {report['target']['gain'] * 100:.0f} points of class accuracy above "
        f"{BASE}.",
    ]
    for strength, target in report["target"]["by_strength"].items():
        if target["gain"] is None:
            lines.append(f"- semantic@{strength}: not measured")
        else:
            verdict = "met" if target["met"] else "not met"
            lines.append(f"- semantic@{strength}: {target['gain'] * 100:+.1f} points ({verdict})")
    if report["skipped_conditions"]:
        lines += ["", "Skipped:", *(f"- {name}: {reason}" for name, reason in report["skipped_conditions"].items())]
    return "\n".join(lines) + "\n"


def write_semantic_report(out: Path, report: dict[str, Any]) -> tuple[Path, Path]:
    """Write `semantic.json` and `semantic.md` into `out`; returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / "semantic.json"
    json_path.write_text(json.dumps(_finite(report), indent=2, allow_nan=False) + "\n")
    md_path = out / "semantic.md"
    md_path.write_text(semantic_markdown(report))
    return json_path, md_path
