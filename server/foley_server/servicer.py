"""The Engine service: a thin layer from wire requests onto the job manager."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import grpc

from foley_engine import __version__
from foley_engine.engine import FoleyEngine
from foley_engine.errors import FoleyError
from foley_engine.video import check_video_limits
from foley_proto.v1 import engine_pb2 as pb
from foley_proto.v1 import engine_pb2_grpc as pb_grpc

from .config import EngineConfig
from .convert import engine_info, request_from_spec
from .jobs import JobManager
from .media import MediaPolicy
from .status import NotReady, abort_with
from .uploads import UploadStore


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

    def _video_path(self, spec: pb.JobSpec) -> Path:
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
