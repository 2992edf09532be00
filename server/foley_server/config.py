"""Engine settings: where it listens, which model it loads, what it accepts."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

# A token shorter than this is guessable; `secrets.token_urlsafe(32)` makes a good one.
MIN_TOKEN_CHARS = 16


class ConfigError(ValueError):
    """Settings the engine refuses to start with."""


@dataclass(frozen=True)
class Limits:
    """Caps checked on every request before any decoding starts."""

    max_clip_ms: int = 10 * 60 * 1000
    max_cues: int = 2000
    max_spans: int = 500
    max_prompt_chars: int = 1000
    max_upload_bytes: int = 2 * 1024**3
    max_queue: int = 64
    max_steps: int = 200
    # Read from the container's header before any frame is decoded: an 8K picture,
    # and four hours at 120 fps.
    max_video_pixels: int = 7680 * 4320
    max_video_frames: int = 4 * 3600 * 120
    # Jobs whose windows run as one batch; None: 8 on a GPU, 1 on a CPU (where a
    # batch takes as long as its windows one by one and only delays the first job).
    max_batch: int | None = None


@dataclass(frozen=True)
class EngineConfig:
    """Everything `foley-engine serve` is told on its command line."""

    socket: Path | None = None
    listen: str | None = None
    model_dir: Path | None = None
    device: str = "cpu"
    # Network precision: "float32", or "float16"/"bfloat16" on a GPU (the vocoder stays float32).
    dtype: str = "float32"
    channels_last: bool = False
    media_roots: tuple[Path, ...] = ()
    limits: Limits = field(default_factory=Limits)
    # How long finished jobs stay watchable, so a client can reconnect for its audio,
    # and how many are kept at most (each holds its audio in memory).
    keep_finished_s: float = 600.0
    keep_finished_jobs: int = 256
    # Every call but health checks must carry "authorization: Bearer <token>" when set.
    token: str | None = None
    # On SIGTERM, how long the running job may take to finish before it is cancelled.
    grace_s: float = 10.0

    def __post_init__(self) -> None:
        if self.listen is not None and self.listen.startswith("unix:"):
            raise ConfigError("--listen takes a TCP address; use --socket for a Unix socket (it is made private)")
        if self.token is not None:
            _check_token(self.token)
        elif self.listen is not None and not is_loopback(self.listen):
            raise ConfigError(
                f"refusing to listen on {self.listen} without a token: other machines could use this engine; "
                "give --token-file (or FOLEY_ENGINE_TOKEN), or listen on 127.0.0.1"
            )
        if self.grace_s < 0:
            raise ConfigError(f"the grace period must not be negative, got {self.grace_s}")

    @property
    def max_batch(self) -> int:
        """How many compatible jobs the worker runs together."""
        if self.limits.max_batch is not None:
            return self.limits.max_batch
        return 8 if self.device.startswith("cuda") else 1

    @property
    def address(self) -> str:
        """The gRPC address to bind (a Unix socket unless a TCP address was given)."""
        if self.listen:
            return self.listen
        if self.socket is None:
            raise ValueError("either a socket path or a listen address is required")
        return f"unix:{self.socket}"


def listen_address(text: str) -> str:
    """A TCP address from `--listen`: a bare port ("50051" or ":50051") means 127.0.0.1."""
    port = text.removeprefix(":")
    return f"127.0.0.1:{port}" if port.isdigit() else text


def is_loopback(address: str) -> bool:
    """Whether a HOST:PORT address only accepts connections from this machine."""
    host = address.rsplit(":", 1)[0].removeprefix("[").removesuffix("]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it may resolve to any interface
        return False


def _check_token(token: str) -> None:
    if len(token) < MIN_TOKEN_CHARS:
        raise ConfigError(f"the token is too short (at least {MIN_TOKEN_CHARS} characters)")
    # It travels as gRPC metadata, which allows printable ASCII only.
    if not (token.isascii() and token.isprintable()) or " " in token:
        raise ConfigError("the token must be printable ASCII without spaces")
