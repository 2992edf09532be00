"""Video files uploaded in chunks, for clients whose media the engine cannot read."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

from foley_engine.errors import InvalidRequest
from foley_proto.v1 import engine_pb2 as pb

_SAFE_SUFFIX_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789")


class UploadStore:
    """Keeps uploads in a private temporary folder that is removed on close."""

    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._dir = Path(tempfile.mkdtemp(prefix="foley-uploads-"))
        self._files: dict[str, Path] = {}

    async def receive(self, chunks: AsyncIterator[pb.UploadChunk]) -> pb.UploadReceipt:
        """Store one upload; InvalidRequest if it is empty or over the size cap."""
        upload_id = uuid.uuid4().hex
        digest = hashlib.sha256()
        size = 0
        path: Path | None = None
        try:
            async for chunk in chunks:
                if path is None:
                    path = self._dir / f"{upload_id}{_suffix(chunk.filename)}"
                    handle = path.open("wb")
                size += len(chunk.data)
                if size > self._max_bytes:
                    raise InvalidRequest("data", f"upload exceeds {self._max_bytes} bytes")
                digest.update(chunk.data)
                handle.write(chunk.data)
        except BaseException:
            if path is not None:
                handle.close()
                path.unlink(missing_ok=True)
            raise
        if path is None or size == 0:
            if path is not None:
                handle.close()
                path.unlink(missing_ok=True)
            raise InvalidRequest("data", "upload is empty")
        handle.close()
        self._files[upload_id] = path
        return pb.UploadReceipt(upload_id=upload_id, size_bytes=size, sha256=digest.hexdigest())

    def path(self, upload_id: str) -> Path:
        """The stored file for an upload id."""
        try:
            return self._files[upload_id]
        except KeyError:
            raise InvalidRequest("upload_id", f"unknown upload {upload_id!r}") from None

    def close(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)


def _suffix(filename: str) -> str:
    suffix = Path(filename).suffix.lower()
    return suffix if 1 < len(suffix) <= 6 and set(suffix[1:]) <= _SAFE_SUFFIX_CHARS else ""
