"""Engine settings: where it listens, which model it loads, what it accepts."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


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
    # How long finished jobs stay watchable, so a client can reconnect for its audio.
    keep_finished_s: float = 600.0

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
