"""`python -m foley_engine.cli eval sync --model DIR --data DIR [--split test] [--limit N] [--steps 25]
[--strengths 0,0.5,1,1.5] [--reference] [--out DIR]`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from ..data import SPLITS
from ..errors import FoleyError
from ..snapping import DEFAULT_REACH_MS
from .sync import SyncConfig, run_sync


def _strengths(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None
    if any(not 0 <= value <= 2 for value in values):
        raise argparse.ArgumentTypeError("temporal strengths must lie between 0 and 2")
    return values


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="foley eval", description="Benchmarks of a Rhythmic Foley model.")
    commands = parser.add_subparsers(dest="command", required=True)
    sync = commands.add_parser(
        "sync",
        help="synchronisation: onset metrics, marker hit rates, snapping, speed",
        description="Generate the split's paired clips without cues and with their true onsets as cues at each "
        "temporal strength; score each output as generated and snapped, against chance; time one window.",
    )
    sync.add_argument("--model", type=Path, help="saved pipeline directory (omit to score only --reference)")
    sync.add_argument("--data", type=Path, required=True, help="dataset folder (python -m foley_engine.data build)")
    sync.add_argument("--split", choices=SPLITS, default="test")
    sync.add_argument("--limit", type=int, help="at most this many paired clips")
    sync.add_argument("--steps", type=int, default=25, help="diffusion steps per clip (default 25)")
    sync.add_argument("--strengths", type=_strengths, default=(0.0, 0.5, 1.0, 1.5), help="temporal strengths")
    sync.add_argument("--reference", action="store_true", help="also score the true audio and Griffin-Lim of its mel")
    sync.add_argument("--snap-reach-ms", type=float, default=DEFAULT_REACH_MS, help="snapping reach (default 100)")
    sync.add_argument("--seed", type=int, default=0, help="clip k is generated with seed + k")
    sync.add_argument("--device", default="cpu", help="torch device, e.g. cuda")
    sync.add_argument("--speed-runs", type=int, default=4, help="timed runs of one window, the first cold (0: skip)")
    sync.add_argument("--speed-steps", type=int, default=25, help="diffusion steps of the timed window")
    sync.add_argument("--figures", type=int, default=3, help="clips to draw (PNG)")
    sync.add_argument("--out", type=Path, default=Path("eval/sync"), help="where sync.json, sync.md and PNGs go")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    config = SyncConfig(
        data=args.data,
        out=args.out,
        model=args.model,
        split=args.split,
        limit=args.limit,
        steps=args.steps,
        strengths=args.strengths,
        reference=args.reference,
        snap_reach_ms=args.snap_reach_ms,
        seed=args.seed,
        device=args.device,
        speed_runs=args.speed_runs,
        speed_steps=args.speed_steps,
        figures=args.figures,
    )
    try:
        run_sync(config, log=lambda line: print(line, flush=True))
    except (FoleyError, OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"wrote {args.out / 'sync.json'} and {args.out / 'sync.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
