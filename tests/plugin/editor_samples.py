"""Where the real editor timelines used by the tests are (read-only)."""

from __future__ import annotations

from pathlib import Path

_REPO = Path(__file__).resolve().parents[2]

# A checkout may carry shared/ inside it; the work machines keep it beside.
SAMPLES: Path | None = next(
    (p for p in (_REPO / "shared" / "otio-samples", _REPO.parent / "shared" / "otio-samples")
     if p.is_dir()),
    None,
)
