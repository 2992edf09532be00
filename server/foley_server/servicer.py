"""The Engine service: a thin layer from wire requests onto the job manager."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import grpc

from foley_engine import __version__
from foley_engine.engine import FoleyEngine, validate_window
from foley_engine.errors import FoleyError
from foley_engine.video import check_video_limits
from foley_proto.v1 import engine_pb2 as pb
from foley_proto.v1 import engine_pb2_grpc as pb_grpc

from .config import EngineConfig
from .convert import detect_response, detection_from_request, engine_info, request_from_spec
from .jobs import JobManager
from .media import MediaPolicy
from .status import NotReady, abort_with, code_for
from .uploads import UploadStore

log = logging.getLogger("foley_server.servicer")


class EngineServicer(pb_grpc.EngineServicer):
    """Implements foley.v1.Engine."""

    def __init__(self, config: EngineConfig, jobs: JobManager, uploads: UploadStore) -> None:
        self._config = config
        self._jobs = jobs
        self._uploads = uploads
        self._media = MediaPolicy(config.media_roots)
        self.engine: FoleyEngine | None = None

    def _ready_engine(self) -> FoleyEngine:
        if self.engine is None:
            raise NotReady("the model is still loading; wait for health SERVING")
        return self.engine

    def _video_path(self, spec: pb.JobSpec | pb.DetectRequest) -> Path:
        if spec.WhichOneof("video") == "upload_id":
            return self._uploads.path(spec.upload_id)
        return self._media.resolve(spec.video_path)

    async def _submit(self, spec: pb.JobSpec) -> str:
        engine = self._ready_engine()
        limits = self._config.limits
        request = request_from_spec(spec, limits, self._video_path)
        engine.validate(request)
        # Reading a header is file I/O: off the event loop, so other calls go on meanwhile.
        await asyncio.to_thread(
            check_video_limits,
            request.video_path,
            limits.max_video_pixels,
            limits.max_video_frames,
            spec.WhichOneof("video"),
        )
        return self._jobs.submit(request, tag=spec.client_tag).id

    async def Detect(self, request: pb.DetectRequest, context: grpc.aio.ServicerContext) -> pb.DetectResponse:
        try:
            engine = self._ready_engine()
            limits = self._config.limits
            detection = detection_from_request(request, limits, self._video_path)
            validate_window(detection.window)
            await asyncio.to_thread(
                check_video_limits,
                detection.video_path,
                limits.max_video_pixels,
                limits.max_video_frames,
                request.WhichOneof("video"),
            )
            found = await self._jobs.detect(detection)
            log.info(
                "detect tag=%r clip=%.3fs onsets=%d events=%d",
                request.client_tag,
                float(detection.window.duration),
                len(found.onsets),
                len(found.events),
            )
            return detect_response(found, engine.info().name)
        # Unlike a job's, a detection's failure has no job to record it: it ends the call, mapped
        # like a failed job's (an unexpected one is INTERNAL, logged here, and vague on the wire).
        except Exception as error:
            if code_for(error) == grpc.StatusCode.INTERNAL:
                log.error("detect tag=%r failed", request.client_tag, exc_info=error)
            await abort_with(context, error)

    async def GetInfo(self, request: pb.GetInfoRequest, context: grpc.aio.ServicerContext) -> pb.EngineInfo:
        try:
            return engine_info(self._ready_engine().info(), self._config.limits, __version__)
        except FoleyError as error:
            await abort_with(context, error)

    async def UploadVideo(
        self, request_iterator: AsyncIterator[pb.UploadChunk], context: grpc.aio.ServicerContext
    ) -> pb.UploadReceipt:
        try:
            return await self._uploads.receive(request_iterator)
        except FoleyError as error:
            await abort_with(context, error)

    async def SubmitJob(self, request: pb.JobSpec, context: grpc.aio.ServicerContext) -> pb.SubmitJobResponse:
        try:
            return pb.SubmitJobResponse(job_id=await self._submit(request))
        except FoleyError as error:
            await abort_with(context, error)

    async def WatchJob(self, request: pb.JobRef, context: grpc.aio.ServicerContext) -> AsyncIterator[pb.JobEvent]:
        try:
            self._jobs.get(request.job_id)
        except FoleyError as error:
            await abort_with(context, error)
        async for event in self._jobs.watch(request.job_id):
            yield event

    async def GetJob(self, request: pb.JobRef, context: grpc.aio.ServicerContext) -> pb.JobStatus:
        try:
            return self._jobs.status(self._jobs.get(request.job_id))
        except FoleyError as error:
            await abort_with(context, error)

    async def CancelJob(self, request: pb.JobRef, context: grpc.aio.ServicerContext) -> pb.CancelJobResponse:
        try:
            return pb.CancelJobResponse(state=self._jobs.cancel(request.job_id))
        except FoleyError as error:
            await abort_with(context, error)

    async def Generate(self, request: pb.JobSpec, context: grpc.aio.ServicerContext) -> AsyncIterator[pb.JobEvent]:
        try:
            job_id = await self._submit(request)
        except FoleyError as error:
            await abort_with(context, error)
        finished = False
        try:
            async for event in self._jobs.watch(job_id):
                yield event
            finished = True
        finally:
            if not finished:
                # The client went away, cancelled the call or let its deadline pass: nobody wants this audio.
                self._jobs.cancel(job_id, "the call ended before the job (client gone or deadline passed)")
