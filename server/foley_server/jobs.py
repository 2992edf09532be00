"""Jobs: a bounded queue, one worker on the device, and event streams to watchers."""

from __future__ import annotations

import asyncio
import collections
import logging
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import grpc

from foley_engine.engine import BatchItem, FoleyEngine
from foley_engine.errors import Cancelled
from foley_engine.request import GeneratedAudio, GenerationRequest, ProgressUpdate
from foley_proto.v1 import engine_pb2 as pb

from .convert import audio_bytes
from .status import NotReady, QueueFull, UnknownJob, code_for, message_for

log = logging.getLogger("foley_server.jobs")

AUDIO_CHUNK_BYTES = 256 * 1024
TERMINAL = frozenset({pb.JOB_STATE_COMPLETED, pb.JOB_STATE_FAILED, pb.JOB_STATE_CANCELLED})


@dataclass
class Job:
    """One generation and everything a watcher may ask about it."""

    id: str
    request: GenerationRequest
    tag: str
    state: int = pb.JOB_STATE_QUEUED
    progress: pb.Progress | None = None
    failed: pb.Failed | None = None
    cancelled: pb.Cancelled | None = None
    completed: pb.Completed | None = None
    audio: bytes = b""
    cancel_flag: threading.Event = field(default_factory=threading.Event)
    watchers: set[asyncio.Queue[pb.JobEvent]] = field(default_factory=set)
    finished_at: float | None = None

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL


class JobManager:
    """Owns every job; runs them on the engine in submission order.

    With `max_batch` above 1, queued jobs whose windows the engine can denoise
    together (equal `FoleyEngine.batch_key`) run as one group, up to `max_batch`
    jobs, and the engine batches their windows.
    """

    def __init__(self, max_queue: int, keep_finished_s: float, max_batch: int = 1) -> None:
        self._max_queue = max_queue
        self._max_batch = max_batch
        self._keep_finished_s = keep_finished_s
        self._jobs: dict[str, Job] = {}
        self._pending: collections.deque[Job] = collections.deque()
        self._wakeup = asyncio.Event()
        self._engine: FoleyEngine | None = None
        self._accepting = True
        self._worker: asyncio.Task[None] | None = None

    def start(self, engine: FoleyEngine) -> None:
        """Begin running queued jobs on `engine`."""
        self._engine = engine
        self._worker = asyncio.create_task(self._work(), name="foley-worker")

    async def stop(self, grace_s: float) -> None:
        """Refuse new jobs, cancel queued ones, give the running job `grace_s` to finish."""
        self._accepting = False
        while self._pending:
            self._finish_cancelled(self._pending.popleft(), "engine is shutting down")
        if self._worker is None:
            return
        running = [job for job in self._jobs.values() if job.state == pb.JOB_STATE_RUNNING]
        try:
            await asyncio.wait_for(asyncio.shield(self._idle()), timeout=grace_s)
        except TimeoutError:
            for job in running:
                job.cancel_flag.set()
            await self._idle()
        self._worker.cancel()

    async def _idle(self) -> None:
        while any(job.state == pb.JOB_STATE_RUNNING for job in self._jobs.values()):
            await asyncio.sleep(0.05)

    def submit(self, request: GenerationRequest, tag: str = "") -> Job:
        """Queue a job; QueueFull when the queue is at its limit."""
        if not self._accepting or self._engine is None:
            raise NotReady("the engine is not accepting jobs (loading or shutting down)")
        self._prune()
        if len(self._pending) >= self._max_queue:
            raise QueueFull(f"the job queue is full ({self._max_queue} jobs); retry shortly")
        job = Job(id=uuid.uuid4().hex, request=request, tag=tag)
        self._jobs[job.id] = job
        self._pending.append(job)
        self._wakeup.set()
        return job

    def get(self, job_id: str) -> Job:
        """The job with this id; UnknownJob if there is none."""
        job = self._jobs.get(job_id)
        if job is None:
            raise UnknownJob(f"no job with id {job_id!r} (unknown or expired)")
        return job

    def cancel(self, job_id: str, reason: str = "cancelled by the client") -> int:
        """Cancel a queued or running job; returns its state afterwards."""
        job = self.get(job_id)
        if job.state == pb.JOB_STATE_QUEUED:
            self._pending.remove(job)
            self._finish_cancelled(job, reason)
            self._publish_positions()
        elif job.state == pb.JOB_STATE_RUNNING:
            job.cancel_flag.set()
        return job.state

    def queue_position(self, job: Job) -> int:
        return self._pending.index(job) if job in self._pending else 0

    def status(self, job: Job) -> pb.JobStatus:
        """GetJob's answer."""
        return pb.JobStatus(
            job_id=job.id,
            state=job.state,
            queue_position=self.queue_position(job),
            progress=job.progress,
            failed=job.failed,
            audio=job.completed.audio if job.completed else None,
            client_tag=job.tag,
        )

    async def watch(self, job_id: str) -> AsyncIterator[pb.JobEvent]:
        """A snapshot of the job, then its events until it ends (with the audio if it completes)."""
        job = self.get(job_id)
        inbox: asyncio.Queue[pb.JobEvent] = asyncio.Queue()
        job.watchers.add(inbox)
        try:
            event = self._snapshot(job)
            while True:
                yield event
                if event.WhichOneof("kind") == "completed":
                    for chunk in self._audio_events(job):
                        yield chunk
                    return
                if event.state in TERMINAL:
                    return
                event = await inbox.get()
        finally:
            job.watchers.discard(inbox)

    def _snapshot(self, job: Job) -> pb.JobEvent:
        event = pb.JobEvent(job_id=job.id, state=job.state, snapshot=True)
        if job.state == pb.JOB_STATE_QUEUED:
            event.queued.position = self.queue_position(job)
        elif job.state == pb.JOB_STATE_RUNNING:
            if job.progress is not None:
                event.progress.CopyFrom(job.progress)
            else:
                event.started.SetInParent()
        elif job.state == pb.JOB_STATE_COMPLETED:
            event.completed.CopyFrom(job.completed)
        elif job.state == pb.JOB_STATE_FAILED:
            event.failed.CopyFrom(job.failed)
        else:
            event.cancelled.CopyFrom(job.cancelled)
        return event

    @staticmethod
    def _audio_events(job: Job) -> list[pb.JobEvent]:
        return [
            pb.JobEvent(
                job_id=job.id,
                state=job.state,
                audio=pb.AudioChunk(offset=offset, data=job.audio[offset : offset + AUDIO_CHUNK_BYTES]),
            )
            for offset in range(0, len(job.audio), AUDIO_CHUNK_BYTES)
        ]

    def _publish(self, job: Job, event: pb.JobEvent) -> None:
        for inbox in job.watchers:
            inbox.put_nowait(event)

    def _publish_positions(self) -> None:
        for position, job in enumerate(self._pending):
            self._publish(job, pb.JobEvent(job_id=job.id, state=job.state, queued=pb.Queued(position=position)))

    def _finish_cancelled(self, job: Job, reason: str) -> None:
        job.state = pb.JOB_STATE_CANCELLED
        job.cancelled = pb.Cancelled(reason=reason)
        job.finished_at = time.monotonic()
        self._publish(job, pb.JobEvent(job_id=job.id, state=job.state, cancelled=job.cancelled))

    def _prune(self) -> None:
        now = time.monotonic()
        expired = [
            job_id
            for job_id, job in self._jobs.items()
            if job.finished_at is not None and now - job.finished_at > self._keep_finished_s
        ]
        for job_id in expired:
            del self._jobs[job_id]

    async def _work(self) -> None:
        while True:
            while not self._pending:
                self._wakeup.clear()
                await self._wakeup.wait()
            group = self._take_group()
            self._publish_positions()
            await self._run(group)

    def _take_group(self) -> list[Job]:
        """The oldest queued job and, up to `max_batch` jobs in all, the queued jobs whose
        windows can share its batches; jobs that cannot keep their places."""
        assert self._engine is not None
        head = self._pending.popleft()
        key = self._engine.batch_key(head.request)
        group = [head]
        for job in list(self._pending):
            if len(group) >= self._max_batch:
                break
            if self._engine.batch_key(job.request) == key:
                self._pending.remove(job)
                group.append(job)
        return group

    async def _run(self, group: list[Job]) -> None:
        assert self._engine is not None
        loop = asyncio.get_running_loop()
        for job in group:
            job.state = pb.JOB_STATE_RUNNING
            self._publish(job, pb.JobEvent(job_id=job.id, state=job.state, started=pb.Started()))

        def progress_of(job: Job) -> Callable[[ProgressUpdate], None]:
            return lambda update: loop.call_soon_threadsafe(self._record_progress, job, update)

        items = [BatchItem(job.request, progress_of(job), job.cancel_flag.is_set) for job in group]
        began = time.monotonic()
        try:
            outcomes = await asyncio.to_thread(self._engine.generate_batch, items, self._max_batch)
        except Exception as error:  # a failure of the whole batch fails its jobs, never the engine
            outcomes = [error] * len(group)
        for job, outcome in zip(group, outcomes):
            self._complete(job, outcome, began)

    def _complete(self, job: Job, outcome: GeneratedAudio | Exception, began: float) -> None:
        """Record a job's outcome, tell its watchers, and log one line about it."""
        if isinstance(outcome, Cancelled):
            self._finish_cancelled(job, "cancelled while running")
            result = "cancelled"
        elif isinstance(outcome, Exception):
            code = code_for(outcome)
            if code == grpc.StatusCode.INTERNAL:
                log.error("job %s failed", job.id, exc_info=outcome)
            job.state = pb.JOB_STATE_FAILED
            job.failed = pb.Failed(code=code.value[0], message=message_for(outcome))
            job.finished_at = time.monotonic()
            self._publish(job, pb.JobEvent(job_id=job.id, state=job.state, failed=job.failed))
            result = f"failed ({code.name}: {message_for(outcome)})"
        else:
            job.audio, info = audio_bytes(outcome)
            job.completed = pb.Completed(
                audio=info,
                model_name=outcome.model_name,
                seed=outcome.seed,
                elapsed_ms=int((time.monotonic() - began) * 1000),
            )
            job.state = pb.JOB_STATE_COMPLETED
            job.finished_at = time.monotonic()
            self._publish(job, pb.JobEvent(job_id=job.id, state=job.state, completed=job.completed))
            result = "completed"
        log.info(
            "job %s tag=%r clip=%.3fs took=%.2fs outcome=%s",
            job.id,
            job.tag,
            float(job.request.window.duration),
            time.monotonic() - began,
            result,
        )

    def _record_progress(self, job: Job, update: ProgressUpdate) -> None:
        if job.terminal:
            return
        job.progress = pb.Progress(
            step=update.step,
            total=update.total,
            stage=update.stage,
            window=update.window,
            windows=update.windows,
        )
        self._publish(job, pb.JobEvent(job_id=job.id, state=job.state, progress=job.progress))
