"""Generating the clips of a run, one engine job each, and keeping every finished one.

A clip that an earlier run finished with the same inputs is taken from the
Foley media folder instead (`resume`). When the run stops at a clip (the
engine fails the job or goes away, a WAV cannot be written), the error names
that clip and says which finished clips are kept for the next run.
"""

from __future__ import annotations

import sys

import grpc
from tqdm import tqdm

from foley_proto.v1 import engine_pb2 as pb

from .client import EngineClient, EngineError
from .clips import ClipWindow
from .embedded import EmbeddedEngine
from .errors import PluginError
from .files import make_folder
from .foley_track import FoleyClipResult
from .jobs import GenerateOptions, clip_metadata, input_hash, job_spec
from .resume import FinishedClips
from .timeutil import to_seconds
from .wav import unused_path, write_wav


class ClipScorer:
    """One run's generation: each clip's WAV made by the engine, or kept from an earlier run."""

    def __init__(
        self,
        client: EngineClient,
        info: pb.EngineInfo,
        options: GenerateOptions,
        finished: FinishedClips,
        embedded: EmbeddedEngine | None,
    ) -> None:
        self.client = client
        self.info = info
        self.options = options
        self.finished = finished
        self.embedded = embedded

    def score(self, windows: list[ClipWindow], reuse: bool) -> list[FoleyClipResult]:
        """A result per window, in order; PluginError naming the clip where the run stopped.

        Each clip's WAV and its record are on disk before the next clip starts,
        so whatever stops the run, the clips finished so far are reused by the
        next run with the same inputs (`resume`).
        """
        detector = self.info.event_detector
        specs = [job_spec(window, self.options, index, detector) for index, window in enumerate(windows)]
        keys = [input_hash(spec, self.info, self.options.cues) for spec in specs]
        earlier = [self.finished.find(key) if reuse else None for key in keys]
        reused = sum(clip is not None for clip in earlier)
        if reused:
            print(
                f"reusing {reused} of {len(windows)} clip(s) finished by an earlier run in {self.finished.media_folder}",
                file=sys.stderr,
            )
        results: list[FoleyClipResult] = []
        with tqdm(total=len(windows), initial=reused, desc="clips", unit="clip", position=0) as overall:
            for index, (window, spec, key, kept) in enumerate(zip(windows, specs, keys, earlier)):
                if kept is not None:
                    metadata = clip_metadata(spec, self.info, kept.job_id, kept.seed, self.options.cues)
                    results.append(FoleyClipResult(window=window, wav_path=kept.wav_path, metadata=metadata))
                    continue
                try:
                    results.append(self._make(window, spec, key, index))
                except PluginError as error:
                    finished = len(results) + sum(clip is not None for clip in earlier[index + 1 :])
                    raise PluginError(self._stopped(error, window, index, len(windows), finished)) from None
                overall.update()
        return results

    def _make(self, window: ClipWindow, spec: pb.JobSpec, key: str, index: int) -> FoleyClipResult:
        """Generate one clip, write its WAV, and record it as finished."""
        bar = tqdm(desc=window.name[:24], unit="step", position=1, leave=False)

        def show(event: pb.JobEvent) -> None:
            if event.WhichOneof("kind") == "progress" and event.progress.stage == "diffusion":
                p = event.progress
                bar.total = p.total * max(p.windows, 1)
                bar.n = p.window * p.total + p.step
                bar.refresh()

        try:
            clip = self.client.generate(spec, show)
        except EngineError as error:
            raise PluginError(self._engine_failure(error)) from None
        finally:
            bar.close()
        make_folder(self.finished.media_folder)
        wav_path = unused_path(self.finished.media_folder, f"{index + 1:02d}-{_safe_name(window.name)}")
        write_wav(wav_path, clip.samples, clip.sample_rate)
        self.finished.add(key, wav_path, clip.job_id, clip.seed)
        metadata = clip_metadata(spec, self.info, clip.job_id, clip.seed, self.options.cues)
        return FoleyClipResult(window=window, wav_path=wav_path, metadata=metadata)

    def _engine_failure(self, error: EngineError) -> str:
        """What happened to the engine, in words: a job it failed, or the engine itself gone."""
        lost = error.code == grpc.StatusCode.UNAVAILABLE
        if self.embedded is not None:
            # A lost connection gives the dying child a moment to be reaped; a failed job, none.
            ended = self.embedded.exit_status(wait_s=2.0 if lost else 0.0)
            if ended is not None:
                return f"the embedded engine {ended} ({error}); its log ends with:\n{self.embedded.log_tail(8)}"
        if lost:
            return f"the engine at {self.client.address} stopped answering ({error}); start it again"
        return str(error)

    def _stopped(self, error: PluginError, window: ClipWindow, index: int, total: int, finished: int) -> str:
        track = window.track_name or f"V{window.track_index + 1}"
        at = float(to_seconds(window.timeline_start))
        kept = (
            f"{finished} finished clip(s) are kept in {self.finished.media_folder}: run the same command "
            f"again and only the other {total - finished} are generated"
            if finished
            else "no clip was finished"
        )
        return (
            f"clip {index + 1} of {total} {window.name!r} (track {track!r}, at {at:.2f} s): {error}\n"
            f"{kept}. No timeline was written."
        )


def _safe_name(name: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "-_" else "_" for c in name).strip("_")
    return cleaned[:40] or "clip"
