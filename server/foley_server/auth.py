"""The per-install token: every call but health checks must carry it."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

import grpc
from grpc_health.v1 import health

from .status import Unauthenticated, abort_with

# Health stays open so that load balancers and the plugin can wait for SERVING without the token.
_OPEN_PREFIX = f"/{health.SERVICE_NAME}/"


class TokenInterceptor(grpc.aio.ServerInterceptor):
    """Ends calls without `authorization: Bearer <token>` with UNAUTHENTICATED."""

    def __init__(self, token: str) -> None:
        self._expected = f"Bearer {token}".encode()

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None or details.method.startswith(_OPEN_PREFIX):
            return handler
        presented = dict(details.invocation_metadata or ()).get("authorization")
        if presented is None:
            return _refusing(handler, "this engine needs its token: send the metadata 'authorization: Bearer <token>'")
        # Constant time, so the comparison does not tell how much of a guess was right.
        if not hmac.compare_digest(_bytes(presented), self._expected):
            return _refusing(handler, "the token is wrong")
        return handler


def _bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode()


def _refusing(handler: grpc.RpcMethodHandler, message: str) -> grpc.RpcMethodHandler:
    """A handler of the same kind as `handler` that ends the call with UNAUTHENTICATED."""

    async def refuse(request: object, context: grpc.aio.ServicerContext) -> None:
        await abort_with(context, Unauthenticated(message))

    codecs = {
        "request_deserializer": handler.request_deserializer,
        "response_serializer": handler.response_serializer,
    }
    if handler.request_streaming and handler.response_streaming:
        return grpc.stream_stream_rpc_method_handler(refuse, **codecs)
    if handler.request_streaming:
        return grpc.stream_unary_rpc_method_handler(refuse, **codecs)
    if handler.response_streaming:
        return grpc.unary_stream_rpc_method_handler(refuse, **codecs)
    return grpc.unary_unary_rpc_method_handler(refuse, **codecs)
