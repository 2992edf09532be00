"""Domain errors. The server maps each class onto one gRPC status code."""

from __future__ import annotations


class FoleyError(Exception):
    """Base class of every error this package raises on purpose."""


class InvalidRequest(FoleyError):
    """A request field is malformed or out of bounds."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.description = message


class MediaError(FoleyError):
    """A media file is missing, unreadable, has no video, or is empty."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path


class ModelError(FoleyError):
    """A model directory or weight file is missing or is not what was expected."""


class ResourceExhausted(FoleyError):
    """The device ran out of memory for this job, or a queue is full."""


class Cancelled(FoleyError):
    """The job was cancelled while it ran."""
