"""Jobs: a bounded queue, one worker on the device, and event streams to watchers."""

from __future__ import annotations

import asyncio
import collections
import itertools
import logging
import queue
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import TypeVar

import grpc

from foley_engine.engine import BatchItem, BatchKey, FoleyEngine
from foley_engine.errors import Cancelled
from foley_engine.request import Detection, DetectionRequest, GeneratedAudio, GenerationRequest, ProgressUpdate
from foley_proto.v1 import engine_pb2 as pb

from .convert import audio_bytes
from .status import NotReady, QueueFull, UnknownJob, code_for, message_for

log = logging.getLogger("foley_server.jobs")

AUDIO_CHUNK_BYTES = 256 * 1024
TERMINAL = frozenset({pb.JOB_STATE_COMPLETED, pb.JOB_STATE_FAILED, pb.JOB_STATE_CANCELLED})
# After the grace period, how long cancelled jobs get to notice (they poll between diffusion steps).
CANCEL_WAIT_S = 5.0
# The retry hint before any group has run, and the bounds of the measured one.
FIRST_RETRY_S = 1.0
RETRY_BOUNDS_S = (0.05, 30.0)
T = TypeVar("T")


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
    cancel_reason: str = ""
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

    Detections (`detect`) run on the same device thread, each between two
    groups of jobs, so that the device only ever does one thing at a time.
    """

    def __init__(
        self, max_queue: int, keep_finished_s: float, max_batch: int = 1, keep_finished_jobs: int = 256
    ) -> None:
        self._max_queue = max_queue
        self._max_batch = max_batch
        self._keep_finished_s = keep_finished_s
        self._keep_finished_jobs = keep_finished_jobs
        # Smoothed seconds per group run: how soon a full queue frees a place.
        self._group_s: float | None = None
        self._jobs: dict[str, Job] = {}
        self._pending: collections.deque[Job] = collections.deque()
        self._wakeup = asyncio.Event()
        self._engine: FoleyEngine | None = None
        self._accepting = True
        self._worker: asyncio.Task[None] | None = None
        self._device: DeviceThread | None = None
        # Detections waiting for the device thread or running on it.
        self._detecting = 0

    def start(self, engine: FoleyEngine) -> None:
        """Begin running queued jobs on `engine`."""
        self._engine = engine
        self._device = DeviceThread()
        self._worker = asyncio.create_task(self._work(), name="foley-worker")

    @property
    def held(self) -> int:
        """Jobs held in memory: queued, running, and finished ones still watchable."""
        return len(self._jobs)

    async def stop(self, grace_s: float) -> None:
        """Refuse new jobs, cancel queued ones, give the running ones `grace_s` to finish, then cancel them."""
        self._accepting = False
        reason = "the engine is shutting down"
        while self._pending:
            self._finish_cancelled(self._pending.popleft(), reason)
        if self._worker is None:
            return
        running = [job for job in self._jobs.values() if job.state == pb.JOB_STATE_RUNNING]
        try:
            await asyncio.wait_for(self._idle(), timeout=grace_s)
        except TimeoutError:
            for job in running:
                self._cancel_running(job, reason)
            try:
                await asyncio.wait_for(self._idle(), timeout=CANCEL_WAIT_S)
            except TimeoutError:
                # Stuck where it cannot see its flag: it runs on a daemon thread, so the process still exits.
                log.error("jobs %s did not stop when cancelled; leaving them behind", [job.id for job in running])
                for job in running:
                    if not job.terminal:
                        self._finish_cancelled(job, reason)
        self._worker.cancel()
        assert self._device is not None
        self._device.close()

    async def _idle(self) -> None:
        while self._detecting or any(job.state == pb.JOB_STATE_RUNNING for job in self._jobs.values()):
            await asyncio.sleep(0.05)

    async def detect(self, request: DetectionRequest) -> Detection:
        """Run the engine's event detector on `request` on the device thread.

        It waits for the group of jobs running now (not for the queued ones) and
        holds the next group back while it runs. NotReady when loading or shutting
        down, QueueFull when `max_queue` detections are waiting already. A call
        that ends before its turn (client gone, engine stopping) never runs; one
        that ends while it runs stops at its next chunk of frames (Cancelled).
        """
        if not self._accepting or self._engine is None or self._device is None:
            raise NotReady("the engine is not accepting requests (loading or shutting down)")
        if self._detecting >= self._max_queue:
            retry_after_s = self.retry_after_s()
            raise QueueFull(
                f"{self._detecting} detections are waiting for the device already; retry in {retry_after_s:.2f} s",
                retry_after_s,
            )
        engine = self._engine
        abandoned = threading.Event()

        def run() -> Detection:
            if abandoned.is_set():
                raise Cancelled("the call ended before the detection started")
            if not self._accepting:
                raise NotReady("the engine is shutting down")
            return engine.detect(request, stopped=lambda: abandoned.is_set() or not self._accepting)

        self._detecting += 1
        try:
            return await self._device.run(run)
        except asyncio.CancelledError:
            abandoned.set()
            raise
        finally:
            self._detecting -= 1

    def submit(self, request: GenerationRequest, tag: str = "") -> Job:
        """Queue a job; QueueFull when the queue is at its limit."""
        if not self._accepting or self._engine is None:
            raise NotReady("the engine is not accepting jobs (loading or shutting down)")
        self._prune()
        if len(self._pending) >= self._max_queue:
            retry_after_s = self.retry_after_s()
            raise QueueFull(
                f"the job queue is full ({self._max_queue} jobs); retry in {retry_after_s:.2f} s", retry_after_s
            )
        job = Job(id=uuid.uuid4().hex, request=request, tag=tag)
        self._jobs[job.id] = job
        self._pending.append(job)
        self._wakeup.set()
        return job

    def retry_after_s(self) -> float:
        """How soon a place in a full queue is likely free: the time a group of jobs takes to run."""
        if self._group_s is None:
            return FIRST_RETRY_S
        low, high = RETRY_BOUNDS_S
        return min(max(self._group_s, low), high)

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
            self._cancel_running(job, reason)
        return job.state

    @staticmethod
    def _cancel_running(job: Job, reason: str) -> None:
        """Ask a running job to stop; it ends CANCELLED when the engine next polls its flag."""
        if not job.cancel_flag.is_set():
            job.cancel_reason = reason
            job.cancel_flag.set()

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
        """Forget finished jobs older than `keep_finished_s`, and the oldest beyond `keep_finished_jobs`."""
        now = time.monotonic()
        finished = sorted(
            (job for job in self._jobs.values() if job.finished_at is not None), key=lambda job: job.finished_at
        )
        surplus = len(finished) - self._keep_finished_jobs
        for rank, job in enumerate(finished):
            if rank < surplus or now - job.finished_at > self._keep_finished_s:
                del self._jobs[job.id]

    async def _work(self) -> None:
        while True:
            while not self._pending:
                self._wakeup.clear()
                await self._wakeup.wait()
            group = [self._pending.popleft()]
            try:
                group += self._companions(group[0])
                self._publish_positions()
                await self._run(group)
            except Exception as error:  # a fault here costs these jobs, never the worker
                log.error("the worker failed on jobs %s", [job.id for job in group], exc_info=error)
                for job in group:
                    if not job.terminal:
                        self._finish_failed(job, error)

    def _companions(self, head: Job) -> list[Job]:
        """Up to `max_batch - 1` queued jobs whose windows can share the head job's batches,
        taken from the queue; jobs that cannot keep their places."""
        if self._max_batch == 1:
            return []
        assert self._engine is not None
        key = self._engine.batch_key(head.request)
        matching = (job for job in self._pending if self._batch_key(job) == key)
        chosen = list(itertools.islice(matching, self._max_batch - 1))
        for job in chosen:
            self._pending.remove(job)
        return chosen

    def _batch_key(self, job: Job) -> BatchKey | None:
        """A queued job's batch key; None (batched with nothing) if the engine cannot tell, so that
        the fault fails that job when its turn comes, not the job at the head of the queue."""
        assert self._engine is not None
        try:
            return self._engine.batch_key(job.request)
        except Exception:
            return None

    async def _run(self, group: list[Job]) -> None:
        assert self._engine is not None and self._device is not None
        loop = asyncio.get_running_loop()
        for job in group:
            job.state = pb.JOB_STATE_RUNNING
            self._publish(job, pb.JobEvent(job_id=job.id, state=job.state, started=pb.Started()))

        def progress_of(job: Job) -> Callable[[ProgressUpdate], None]:
            return lambda update: loop.call_soon_threadsafe(self._record_progress, job, update)

        items = [BatchItem(job.request, progress_of(job), job.cancel_flag.is_set) for job in group]
        began = time.monotonic()
        engine = self._engine
        try:
            outcomes = await self._device.run(lambda: engine.generate_batch(items, self._max_batch))
        except Exception as error:  # a failure of the whole batch fails its jobs, never the engine
            outcomes = [error] * len(group)
        took = time.monotonic() - began
        self._group_s = took if self._group_s is None else 0.8 * self._group_s + 0.2 * took
        for job, outcome in zip(group, outcomes):
            self._complete(job, outcome, began)
        self._prune()

    def _complete(self, job: Job, outcome: GeneratedAudio | Exception, began: float) -> None:
        """Record a job's outcome, tell its watchers, and log one line about it."""
        if isinstance(outcome, Cancelled):
            self._finish_cancelled(job, job.cancel_reason or "cancelled while running")
            result = "cancelled"
        elif isinstance(outcome, Exception):
            self._finish_failed(job, outcome)
            result = f"failed ({code_for(outcome).name}: {job.failed.message})"
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

    def _finish_failed(self, job: Job, error: Exception) -> None:
        code = code_for(error)
        if code == grpc.StatusCode.INTERNAL:
            log.error("job %s failed", job.id, exc_info=error)
        job.state = pb.JOB_STATE_FAILED
        job.failed = pb.Failed(code=code.value[0], message=message_for(error))
        job.finished_at = time.monotonic()
        self._publish(job, pb.JobEvent(job_id=job.id, state=job.state, failed=job.failed))

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


_Call = tuple[Callable[[], object], asyncio.AbstractEventLoop, asyncio.Future]


class DeviceThread:
    """The one thread that runs the engine's work, one call at a time.

    A single long-lived thread, not asyncio.to_thread's pool: the device is
    driven from one place, and the memory one call frees is what the next one
    reuses (a pool spreads calls over threads, each keeping its own malloc
    arena at the peak). It is a daemon, unlike the pool's threads that are
    joined at exit, so a job stuck where it cannot see its cancel flag does not
    keep a stopping engine alive.
    """

    def __init__(self) -> None:
        # Calls with the loop and future to report to; None ends the thread.
        self._calls: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        threading.Thread(target=self._serve, name="foley-device", daemon=True).start()

    async def run(self, function: Callable[[], T]) -> T:
        """`function()`'s result (or exception), computed on the device thread."""
        loop = asyncio.get_running_loop()
        result: asyncio.Future[T] = loop.create_future()
        self._calls.put((function, loop, result))
        return await result

    def close(self) -> None:
        """End the thread once the call it is running (if any) returns."""
        self._calls.put(None)

    def _serve(self) -> None:
        while (call := self._calls.get()) is not None:
            function, loop, result = call
            value, error = None, None
            try:
                value = function()
            except BaseException as caught:
                error = caught
            try:
                loop.call_soon_threadsafe(_settle, result, value, error)
            except RuntimeError:  # the loop closed while the call ran: nobody is waiting
                pass


def _settle(result: asyncio.Future, value: object, error: BaseException | None) -> None:
    if result.done():  # the worker was cancelled while waiting
        return
    if error is None:
        result.set_result(value)
    else:
        result.set_exception(error)
