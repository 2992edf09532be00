"""The one place where domain errors become gRPC status codes."""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from foley_engine.engine import domain_error
from foley_engine.errors import (
    Cancelled,
    FoleyError,
    InvalidRequest,
    MediaError,
    ModelError,
    ResourceExhausted,
)


# A status travels in the call's trailing metadata, which clients cap at 8 KiB by default: the
# message twice (as grpc-message, each non-ASCII byte percent-encoded to three characters, and in
# the base64 details). Longer text, such as a long request field echoed back, would reach the
# client as RESOURCE_EXHAUSTED instead of the status meant.
MAX_MESSAGE_BYTES = 1000


class UnknownJob(FoleyError):
    """No job with this id exists (or it expired)."""


class NotReady(FoleyError):
    """The model is still loading, or the engine is shutting down."""


class Unauthenticated(FoleyError):
    """The call carries no token, or the wrong one."""


class QueueFull(ResourceExhausted):
    """The job queue is at its limit; a place is likely free again after `retry_after_s`."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


_CODES: tuple[tuple[type[BaseException], grpc.StatusCode], ...] = (
    (InvalidRequest, grpc.StatusCode.INVALID_ARGUMENT),
    (MediaError, grpc.StatusCode.INVALID_ARGUMENT),
    (UnknownJob, grpc.StatusCode.NOT_FOUND),
    (NotReady, grpc.StatusCode.UNAVAILABLE),
    (Unauthenticated, grpc.StatusCode.UNAUTHENTICATED),
    (ResourceExhausted, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (Cancelled, grpc.StatusCode.CANCELLED),
    (ModelError, grpc.StatusCode.FAILED_PRECONDITION),
)


def code_for(error: BaseException) -> grpc.StatusCode:
    """The status code for a domain error; anything unexpected is INTERNAL."""
    error = _domain(error)
    for kind, code in _CODES:
        if isinstance(error, kind):
            return code
    return grpc.StatusCode.INTERNAL


def message_for(error: BaseException) -> str:
    """A message safe to send: domain errors say what is wrong; others stay vague."""
    error = _domain(error)
    if isinstance(error, FoleyError):
        return _brief(str(error))
    return f"internal engine error ({type(error).__name__}); see the engine log"


def _brief(text: str) -> str:
    """`text` cut to MAX_MESSAGE_BYTES of UTF-8 (at a character's boundary), "…" marking a cut."""
    data = text.encode("utf-8")
    if len(data) <= MAX_MESSAGE_BYTES:
        return text
    return data[: MAX_MESSAGE_BYTES - 3].decode("utf-8", errors="ignore") + "…"


def rich_status(error: BaseException) -> grpc.Status:
    """A `grpc.Status` carrying google.rpc details (field violations for bad requests)."""
    code = code_for(error)
    status = status_pb2.Status(code=code.value[0], message=message_for(error))
    if isinstance(error, InvalidRequest):
        detail = any_pb2.Any()
        detail.Pack(
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(
                        field=_brief(error.field), description=_brief(error.description)
                    )
                ]
            )
        )
        status.details.append(detail)
    elif isinstance(error, QueueFull):
        delay = duration_pb2.Duration()
        delay.FromMilliseconds(round(error.retry_after_s * 1000))
        detail = any_pb2.Any()
        detail.Pack(error_details_pb2.RetryInfo(retry_delay=delay))
        status.details.append(detail)
    return rpc_status.to_status(status)


def _domain(error: BaseException) -> BaseException:
    # Failures from below that stand for a domain error (the device out of memory) map like it.
    return domain_error(error) if isinstance(error, Exception) else error


async def abort_with(context: grpc.aio.ServicerContext, error: BaseException) -> None:
    """End the call with the status for `error`."""
    await context.abort_with_status(rich_status(error))

