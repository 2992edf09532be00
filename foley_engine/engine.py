"""The engine facade: one loaded model, requests in, audio out.

The gRPC server drives generation only through `FoleyEngine`; everything it
needs to know about the model comes back from `FoleyEngine.info`.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import torch
from diffusers.utils import is_accelerate_available

from .audio_io import resample
from .config import AUDIO
from .describer import ClipContext, Description, EventDescriber
from .detection import detect_events, merge_cues
from .errors import Cancelled, InvalidRequest, ModelError, ResourceExhausted
from .onsets import onset_mask, span_mask
from .pipeline import RhythmicFoleyPipeline
from .presets import build_untrained_pipeline
from .request import Detection, DetectionRequest, GeneratedAudio, GenerationRequest, ProgressUpdate, TimeMap
from .semantics import WindowText, window_text
from .snapping import DEFAULT_REACH_MS, MAX_REACH_MS, snap_transients
from .video import sample_frames
from .windows import join_windows, plan_windows

DEFAULT_CHECKPOINT = Path(__file__).resolve().parent / "checkpoints" / "default"
DEFAULT_STEPS = 25
DEFAULT_GUIDANCE_SCALE = 4.5
# Chosen on the validation split with the default model (its model card has the sweep).
DEFAULT_TEMPORAL_STRENGTH = 1.5
DEFAULT_SEMANTIC_STRENGTH = 1.0
# One second of overlap gives the crossfade room to hide the seam between windows.
WINDOW_OVERLAP = AUDIO.sample_rate

MAX_STRENGTH = 2.0
MAX_GUIDANCE_SCALE = 30.0
MIN_SAMPLE_RATE = 8_000
MAX_SAMPLE_RATE = 192_000
SEED_LIMIT = 2**64
PEAK_CEILING = 0.98
NO_DETECTOR = (
    "this model has no event detector (train one with `foley train detector` and add it with "
    "`foley train assemble --detector`)"
)


@dataclass(frozen=True)
class AdapterInfo:
    """One adapter of the loaded model."""

    name: str
    default_strength: float
    trained: bool


@dataclass(frozen=True)
class ModelInfo:
    """What a client needs to know about the loaded model."""

    name: str
    trained: bool
    adapters: tuple[AdapterInfo, ...]
    device: str
    sample_rate: int
    window_samples: int
    default_steps: int
    default_guidance_scale: float
    digest: str  # sha256 of the pipeline's configuration and weights
    event_detector: bool = False  # the model can detect onsets and events in video



def pipeline_digest(pipeline: RhythmicFoleyPipeline) -> str:
    """sha256 of `pipeline`'s configuration and of every component's tensors (names, dtypes, shapes,
    values), in a fixed order: it changes whenever the weights or the way they run do."""
    digest = hashlib.sha256()
    components = pipeline.components
    # Keys starting with "_" say where and by which version a folder was saved, not what it computes.
    configs = {"pipeline": pipeline.config, **{name: getattr(c, "config", {}) for name, c in components.items()}}
    plain = {name: {k: v for k, v in dict(config).items() if not k.startswith("_")} for name, config in configs.items()}
    digest.update(json.dumps(plain, sort_keys=True, default=str).encode())
    for name in sorted(components):
        if not isinstance(components[name], torch.nn.Module):
            continue
        for key, tensor in sorted(components[name].state_dict().items()):
            digest.update(f"{name}.{key}:{tensor.dtype}:{tuple(tensor.shape)}".encode())
            digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def _missing_model_hint(path: Path) -> str:
    return f"make one with `foley-engine save-untrained {path}` (random weights, for trying the plumbing)"


def save_untrained(model_dir: Path | str, seed: int = 0, overwrite: bool = False) -> Path:
    """Save the small untrained preset as a pipeline directory that `FoleyEngine.load` accepts."""
    model_dir = Path(model_dir)
    if (model_dir / "model_index.json").exists() and not overwrite:
        raise FileExistsError(f"{model_dir} already holds a pipeline; pass overwrite=True to replace it")
    build_untrained_pipeline(seed).save_pretrained(model_dir, safe_serialization=True)
    return model_dir


def _half_up(value: Fraction) -> int:
    return math.floor(value + Fraction(1, 2))


def _fit_length(samples: np.ndarray, n_samples: int) -> np.ndarray:
    # Resampling can land one sample off the exact count; repeat the last sample
    # rather than append silence, so the end stays click-free.
    if len(samples) >= n_samples:
        return samples[:n_samples]
    return np.pad(samples, (0, n_samples - len(samples)), mode="edge")


def validate_window(window: TimeMap) -> None:
    """InvalidRequest unless `window` is a positive span that never plays before the media's start."""
    if window.duration <= 0:
        raise InvalidRequest("window.duration", "must be positive")
    if window.media_start < 0:
        raise InvalidRequest("window.media_start", "must not be negative")
    if window.media_time(window.duration) < 0:
        raise InvalidRequest("window.speed", "plays back past the start of the media")


class FoleyEngine:
    """A loaded Rhythmic Foley model with the checks and the windowing around it."""

    def __init__(self, pipeline: RhythmicFoleyPipeline) -> None:
        self.pipeline = pipeline
        pipeline.set_progress_bar_config(disable=True)
        self.digest = pipeline_digest(pipeline)

    @classmethod
    def load(
        cls,
        model_dir: Path | None = None,
        device: str = "cpu",
        dtype: torch.dtype | str | None = None,
        channels_last: bool = False,
    ) -> "FoleyEngine":
        """Load a saved pipeline onto `device`.

        Without `model_dir` the bundled default checkpoint is used if present,
        otherwise the untrained preset is built (and reported as untrained).
        A `model_dir` that is missing or holds no pipeline is a ModelError.
        `dtype` (torch.float16 or torch.bfloat16 on a GPU) runs the networks in
        half precision, the vocoder staying float32; `channels_last` stores the
        convolution networks channels-last. Both are GPU speed-ups.
        """
        if model_dir is None:
            if (DEFAULT_CHECKPOINT / "model_index.json").is_file():
                pipeline = cls._read(DEFAULT_CHECKPOINT)
            else:
                pipeline = build_untrained_pipeline()
        else:
            pipeline = cls._read(Path(model_dir))
        try:
            pipeline.to(device)
        except (RuntimeError, AssertionError) as error:
            raise ModelError(f"cannot move the model to device {device!r}: {error}") from None
        if dtype is not None:
            pipeline.set_compute_dtype(compute_dtype(dtype))
        if channels_last:
            pipeline.use_channels_last()
        return cls(pipeline)

    @staticmethod
    def _read(model_dir: Path) -> RhythmicFoleyPipeline:
        if not model_dir.is_dir():
            raise ModelError(f"{model_dir}: no such model directory; {_missing_model_hint(model_dir)}")
        if not (model_dir / "model_index.json").is_file():
            raise ModelError(
                f"{model_dir}: not a saved pipeline (no model_index.json); {_missing_model_hint(model_dir)}"
            )
        try:
            return RhythmicFoleyPipeline.from_pretrained(model_dir, low_cpu_mem_usage=is_accelerate_available())
        # diffusers, safetensors and json raise many unrelated types for a broken checkpoint.
        except Exception as error:
            raise ModelError(f"{model_dir}: cannot load the pipeline ({error}); {_missing_model_hint(model_dir)}") from None

    def info(self) -> ModelInfo:
        """The loaded model's name, training state, adapters, device and defaults."""
        config = self.pipeline.config
        return ModelInfo(
            name=config.model_name,
            trained=bool(config.trained),
            adapters=(
                AdapterInfo("temporal", DEFAULT_TEMPORAL_STRENGTH, bool(config.temporal_adapter_trained)),
                AdapterInfo("semantic", DEFAULT_SEMANTIC_STRENGTH, bool(config.semantic_adapter_trained)),
            ),
            device=str(self.pipeline.device),
            sample_rate=AUDIO.sample_rate,
            window_samples=AUDIO.window_samples,
            default_steps=DEFAULT_STEPS,
            default_guidance_scale=DEFAULT_GUIDANCE_SCALE,
            digest=self.digest,
            event_detector=self.pipeline.event_detector is not None,
        )

    def validate(self, request: GenerationRequest) -> None:
        """Cheap checks of a request's values (no file access); raises InvalidRequest naming the field."""
        window = request.window
        validate_window(window)
        if request.video_cues and self.pipeline.event_detector is None:
            raise InvalidRequest("video_cues", f"{NO_DETECTOR}; send the cues yourself or leave video_cues off")
        for index, cue in enumerate(request.cues):
            if not 0 <= cue.time <= window.duration:
                raise InvalidRequest(f"cues[{index}].time", "lies outside the window")
        for index, span in enumerate(request.spans):
            if not 0 <= span.start < span.end <= window.duration:
                raise InvalidRequest(f"spans[{index}]", "needs 0 <= start < end <= window duration")
        for name in ("semantic_strength", "temporal_strength"):
            value = getattr(request, name)
            if value is not None and not (math.isfinite(value) and 0 <= value <= MAX_STRENGTH):
                raise InvalidRequest(name, f"must be between 0 and {MAX_STRENGTH}")
        max_steps = self.pipeline.scheduler.config.num_train_timesteps
        if request.steps is not None and not 1 <= request.steps <= max_steps:
            raise InvalidRequest("steps", f"must be between 1 and {max_steps}")
        guidance = request.guidance_scale
        if guidance is not None and not (math.isfinite(guidance) and 0 <= guidance <= MAX_GUIDANCE_SCALE):
            raise InvalidRequest("guidance_scale", f"must be between 0 and {MAX_GUIDANCE_SCALE}")
        if not 0 <= request.seed < SEED_LIMIT:
            raise InvalidRequest("seed", "must be an unsigned 64-bit integer")
        rate = request.sample_rate
        if rate is not None and not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
            raise InvalidRequest("sample_rate", f"must be between {MIN_SAMPLE_RATE} and {MAX_SAMPLE_RATE} Hz")
        reach = request.snap_reach_ms
        if reach is not None and not (math.isfinite(reach) and 0 < reach <= MAX_REACH_MS):
            raise InvalidRequest("snap_reach_ms", f"must be above 0 and at most {MAX_REACH_MS} ms")

    def detect(self, request: DetectionRequest, stopped: Callable[[], bool] | None = None) -> Detection:
        """The contact onsets and sound events the model's event detector sees in the request's window.

        The frames are read at the video's own rate, at output times of the
        window (speed changes included); times are exact frame times in the
        window's output seconds. Raises ModelError when the model has no
        event detector, InvalidRequest for a bad window, MediaError for a
        missing or unreadable video and ResourceExhausted when the device runs
        out of memory. Callers that take paths from outside check the file's
        size first (`video.check_video_limits`), as for generation. `stopped`
        is asked between chunks of frames; once it says True, Cancelled is
        raised (a long clip whose caller has gone stops holding the device).
        """
        detector = self.pipeline.event_detector
        if detector is None:
            raise ModelError(NO_DETECTOR)
        validate_window(request.window)
        try:
            return detect_events(detector, request.video_path, request.window, stopped=stopped)
        except torch.OutOfMemoryError as error:
            raise domain_error(error) from None

    def batch_key(self, request: GenerationRequest) -> BatchKey:
        """What a request's windows must share with others to be denoised in one batch."""
        return BatchKey(
            steps=request.steps or DEFAULT_STEPS,
            guidance_scale=_or(request.guidance_scale, DEFAULT_GUIDANCE_SCALE),
            temporal_strength=_or(request.temporal_strength, DEFAULT_TEMPORAL_STRENGTH) if request.cues else None,
            semantic_strength=(
                _or(request.semantic_strength, DEFAULT_SEMANTIC_STRENGTH)
                if request.spans or self._describes(request)
                else None
            ),
        )

    def _describes(self, request: GenerationRequest) -> bool:
        """Whether the request's clip is described for the semantic adapter (events and text):
        always where the model's semantic adapter is trained with a text projector and the
        request does not turn it off; otherwise only the request's own spans steer it."""
        pipe = self.pipeline
        trained = pipe.semantic_projector is not None and bool(pipe.config.semantic_adapter_trained)
        return trained and _or(request.semantic_strength, DEFAULT_SEMANTIC_STRENGTH) > 0

    def generate(
        self,
        request: GenerationRequest,
        on_progress: Callable[[ProgressUpdate], None] | None = None,
        should_cancel: Callable[[], bool] | None = None,
    ) -> GeneratedAudio:
        """Render a request's audio: exactly round(duration × rate) mono samples in [-1, 1].

        Long clips are generated window by window (window k seeded with seed + k)
        and crossfaded; with `request.snap` the joined audio's transients near
        cues are then moved onto them. `on_progress` hears the stages
        "features", "diffusion" (per step) and "vocoder" of every window;
        `should_cancel` is polled between steps and makes the call raise Cancelled.
        """
        outcome = self.generate_batch([BatchItem(request, on_progress, should_cancel)])[0]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def generate_batch(
        self, items: Sequence[BatchItem], max_batch: int = 8
    ) -> list[GeneratedAudio | Exception]:
        """Render several requests, denoising up to `max_batch` windows of compatible
        requests (equal `batch_key`) together; a GPU runs a batch in little more time
        than one window.

        Each item's audio is what `generate` alone would give it (the same seeds
        per window). One item's failure or cancellation is its own: the outcome
        list holds a GeneratedAudio or the exception for each item, in order.
        """
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, got {max_batch}")
        jobs = [_Job(item) for item in items]
        for job in jobs:
            try:
                self.validate(job.request)
            except InvalidRequest as error:
                job.error = error
            else:
                n_model = _half_up(job.request.window.duration * AUDIO.sample_rate)
                job.starts = plan_windows(n_model, AUDIO.window_samples, WINDOW_OVERLAP)
                if job.request.video_cues or self._describes(job.request):
                    self._prepare_job(job)
        queues: dict[BatchKey, list[tuple[_Job, int]]] = {}
        rounds = max((len(job.starts) for job in jobs), default=0)
        # Window by window across the jobs, so every job's first window comes early.
        for index in range(rounds):
            for job in jobs:
                if index < len(job.starts):
                    queues.setdefault(self.batch_key(job.request), []).append((job, index))
        for key, tasks in queues.items():
            while tasks:
                batch = [task for task in tasks if task[0].error is None][:max_batch]
                tasks[:] = [task for task in tasks if task[0].error is None and task not in batch]
                if batch:
                    self._run_batch(key, batch)
        return [job.error if job.error is not None else self._finish(job) for job in jobs]

    def _prepare_job(self, job: _Job) -> None:
        """What a job needs before any window's masks are built: the event detector's view of
        its clip (once), the detected onsets added to its cues with `video_cues` (an editor's
        cue wins over a detected onset within one video frame of it), and the clip's
        description for the semantic adapter. A failure (unreadable video, out of memory) is
        the job's."""
        if job.cancelled():
            job.error = Cancelled("cancelled by request")
            return
        request = job.request
        detection = None
        if request.video_cues or (self._describes(request) and self.pipeline.event_detector is not None):
            job.report("detection", 0, 1, 0)
            try:
                detection = self.detect(DetectionRequest(request.video_path, request.window))
            except Exception as error:  # this job's media or memory; the others go on
                job.error = domain_error(error)
                return
            job.report("detection", 1, 1, 0)
        if self._describes(request):
            clip = ClipContext(
                duration=request.window.duration,
                name=request.video_path.name,
                prompt=request.prompt,
                cues=request.cues,
                spans=request.spans,
                detected=detection.events if detection is not None else (),
            )
            # The whole clip at once; each model window then keeps what fits its slots.
            job.description = EventDescriber(max_events=None).describe(clip)
        if request.video_cues and detection is not None:
            cues = merge_cues(request.cues, detection.onsets, detection.fps)
            job.item = replace(job.item, request=replace(request, cues=cues))

    def _run_batch(self, key: BatchKey, tasks: list[tuple[_Job, int]]) -> None:
        """Denoise and vocode one window of each task; failures land on the tasks' jobs."""
        windows: list[tuple[_Job, int, _Window]] = []
        for job, index in tasks:
            if job.cancelled():
                job.error = Cancelled("cancelled by request")
                continue
            try:
                windows.append((job, index, self._prepare_window(job, index)))
            except Exception as error:  # this job's media or masks; the others go on
                job.error = domain_error(error)
        if not windows:
            return

        def on_step(pipeline: RhythmicFoleyPipeline, step: int, timestep: Any, tensors: dict[str, Any]) -> dict:
            for job, index, _ in windows:
                job.report("diffusion", step + 1, key.steps, index)
            if all(job.cancelled() for job, _, _ in windows):
                pipeline._interrupt = True
            return tensors

        for job, index, _ in windows:
            job.report("diffusion", 0, key.steps, index)
        parts = [window for _, _, window in windows]
        texts = [part.text for part in parts]
        try:
            mels = self.pipeline(
                torch.cat([part.features for part in parts]),
                onset_mask=_stacked([part.onsets for part in parts]),
                span_mask=_stacked([part.events for part in parts]),
                event_embeddings=None if texts[0] is None else torch.from_numpy(np.stack([t.embeddings for t in texts])),
                event_centres=None if texts[0] is None else torch.from_numpy(np.stack([t.centres for t in texts])),
                temporal_strength=_or(key.temporal_strength, DEFAULT_TEMPORAL_STRENGTH),
                semantic_strength=_or(key.semantic_strength, DEFAULT_SEMANTIC_STRENGTH),
                num_inference_steps=key.steps,
                guidance_scale=key.guidance_scale,
                generator=[torch.Generator(device="cpu").manual_seed(part.seed) for part in parts],
                callback_on_step_end=on_step,
                output_type="mel",
            ).mels
            for job, index, _ in windows:
                job.report("vocoder", 0, 1, index)
            audio = self.pipeline.vocoder(mels).float().cpu().numpy()
        except Exception as error:  # this batch's jobs fail; the engine and the other batches go on
            failure = domain_error(error)
            for job, _, _ in windows:
                job.error = failure
            return
        for row, (job, index, _) in enumerate(windows):
            if job.cancelled():
                job.error = Cancelled("cancelled by request")
                continue
            job.report("vocoder", 1, 1, index)
            job.pieces.append(audio[row])

    def _prepare_window(self, job: _Job, index: int) -> _Window:
        """Features and masks of a job's window `index` (AUDIO.window_samples samples)."""
        request, pipe = job.request, self.pipeline
        start = Fraction(job.starts[index], AUDIO.sample_rate)
        job.report("features", 0, 1, index)
        size = pipe.video_encoder.config.image_size
        # Past the clip's end the picture holds on its last frame: the material the
        # editor cut away must not colour the audio that is crossfaded or trimmed there.
        visible = min(
            AUDIO.video_frames_per_window, math.ceil((request.window.duration - start) * AUDIO.video_fps)
        )
        frames = sample_frames(
            request.video_path, request.window, fps=AUDIO.video_fps, size=(size, size), start=start, count=visible
        )
        frames = np.concatenate([frames, np.repeat(frames[-1:], AUDIO.video_frames_per_window - visible, axis=0)])
        features = pipe.encode_frames(frames[None])
        job.report("features", 1, 1, index)
        # A request with cues (spans) conditions every window, an empty mask included:
        # "no onset here" is as much an instruction as an onset.
        onsets = None
        if request.cues:
            onsets = onset_mask([cue.time - start for cue in request.cues], AUDIO.window_frames)
        events, text = None, None
        if job.description is not None:
            described = window_text(job.description, start, pipe.semantic_projector.config.max_events)
            events, text = described.spans, described
        elif request.spans:
            events = span_mask([(s.start - start, s.end - start) for s in request.spans], AUDIO.window_frames)
        return _Window(features, onsets, events, text, (request.seed + index) % SEED_LIMIT)

    def _finish(self, job: _Job) -> GeneratedAudio:
        """Join a job's windows, snap, resample and level them into its result."""
        request = job.request
        n_model = _half_up(request.window.duration * AUDIO.sample_rate)
        samples = join_windows(job.pieces, n_model, WINDOW_OVERLAP)
        snapped = filled = 0
        if request.snap and request.cues:
            # At the model's rate, before resampling: the transients are found and moved
            # on the samples the model made, and the cue samples are exact there.
            cues = [cue.time for cue in request.cues]
            result = snap_transients(samples, AUDIO.sample_rate, cues, _or(request.snap_reach_ms, DEFAULT_REACH_MS))
            samples, snapped, filled = result.samples, len(result.moves), len(result.fills)
        sample_rate = request.sample_rate or AUDIO.sample_rate
        if sample_rate != AUDIO.sample_rate:
            samples = resample(samples, AUDIO.sample_rate, sample_rate)
        samples = _fit_length(samples, _half_up(request.window.duration * sample_rate))
        peak = float(np.max(np.abs(samples))) if len(samples) else 0.0
        if peak > 1.0:
            # Editors get level-safe audio: scale down rather than clip into distortion.
            samples = samples * (PEAK_CEILING / peak)
        return GeneratedAudio(
            samples=samples.astype(np.float32),
            sample_rate=sample_rate,
            seed=request.seed,
            model_name=self.pipeline.config.model_name,
            stats={
                "windows": float(len(job.starts)),
                "seconds": time.monotonic() - job.began,
                "peak_before_limit": peak,
                "transients_snapped": float(snapped),
                "transients_filled": float(filled),
            },
        )


def domain_error(error: Exception) -> Exception:
    """The domain error a failure from below stands for: the device running out of
    memory is ResourceExhausted (that job fails; the next one may fit). Others are
    returned unchanged."""
    if isinstance(error, torch.OutOfMemoryError):
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        return ResourceExhausted(f"the device ran out of memory for this job ({first_line})")
    return error


@dataclass(frozen=True)
class BatchKey:
    """The settings that windows denoised in one batch share."""

    steps: int
    guidance_scale: float
    temporal_strength: float | None  # None: no cues, the temporal adapter does not run
    semantic_strength: float | None  # None: no spans, the semantic adapter does not run


@dataclass(frozen=True)
class BatchItem:
    """One request of `FoleyEngine.generate_batch`, with its own progress and cancel hooks."""

    request: GenerationRequest
    on_progress: Callable[[ProgressUpdate], None] | None = None
    should_cancel: Callable[[], bool] | None = None


@dataclass
class _Window:
    """What one window's denoising needs."""

    features: torch.Tensor  # (1, T, feature_dim)
    onsets: np.ndarray | None  # (window_frames,)
    events: np.ndarray | None  # (window_frames,)
    text: WindowText | None  # the described events' text, for a trained semantic adapter
    seed: int


@dataclass(eq=False)
class _Job:
    """One item's way through `generate_batch`."""

    item: BatchItem
    starts: list[int] = field(default_factory=list)
    pieces: list[np.ndarray] = field(default_factory=list)
    error: Exception | None = None
    description: Description | None = None  # set when the semantic adapter gets events and text
    began: float = field(default_factory=time.monotonic)

    @property
    def request(self) -> GenerationRequest:
        return self.item.request

    def cancelled(self) -> bool:
        return self.item.should_cancel is not None and self.item.should_cancel()

    def report(self, stage: str, step: int, total: int, window: int) -> None:
        if self.item.on_progress is not None:
            self.item.on_progress(
                ProgressUpdate(stage=stage, step=step, total=total, window=window, windows=len(self.starts))
            )


def _stacked(masks: list[np.ndarray | None]) -> np.ndarray | None:
    """One (B, window_frames) mask from a batch's masks; all are None or none is (equal batch keys)."""
    return None if masks[0] is None else np.stack(masks)


COMPUTE_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def compute_dtype(dtype: torch.dtype | str) -> torch.dtype:
    """A torch dtype from its name ("float32", "float16", "bfloat16"); ModelError otherwise."""
    if isinstance(dtype, torch.dtype):
        return dtype
    try:
        return COMPUTE_DTYPES[dtype]
    except KeyError:
        raise ModelError(f"unknown compute dtype {dtype!r}; use one of {', '.join(COMPUTE_DTYPES)}") from None


def _or(value: float | None, default: float) -> float:
    return default if value is None else value
