"""Which video files the engine may read."""

from __future__ import annotations

import stat
from dataclasses import dataclass
from pathlib import Path

from foley_engine.errors import InvalidRequest


@dataclass(frozen=True)
class MediaPolicy:
    """Video paths must resolve (symlinks followed) to regular files under one of `roots`.

    With no roots configured every regular file is readable; `foley-engine serve`
    warns about that at start.
    """

    roots: tuple[Path, ...] = ()

    def resolve(self, raw: str, field: str = "video_path") -> Path:
        """The real path of `raw`, or InvalidRequest saying why it may not be read."""
        if not raw:
            raise InvalidRequest(field, "is empty")
        if "\x00" in raw:
            raise InvalidRequest(field, "contains a NUL character")
        path = Path(raw)
        if not path.is_absolute():
            raise InvalidRequest(field, "must be an absolute path")
        try:
            real = path.resolve()
        except (OSError, RuntimeError):  # a symlink loop (RuntimeError before Python 3.13), a name too long
            raise InvalidRequest(field, "cannot be resolved (a symlink loop, or a name too long)") from None
        if self.roots and not any(real.is_relative_to(root) for root in self._real_roots()):
            raise InvalidRequest(field, "is outside the engine's media roots")
        try:
            mode = real.stat().st_mode
        except FileNotFoundError:
            raise InvalidRequest(field, f"no such file: {raw}") from None
        except OSError as error:
            raise InvalidRequest(field, f"cannot be read ({error.strerror})") from None
        if not stat.S_ISREG(mode):
            raise InvalidRequest(field, "is not a regular file")
        return real

    def _real_roots(self) -> tuple[Path, ...]:
        return tuple(root.resolve() for root in self.roots)
