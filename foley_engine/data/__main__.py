"""`python -m foley_engine.data build --out DIR --seed 0 --paired N --audio-only M`."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from tqdm import tqdm

from ..errors import FoleyError
from .builder import DataConfig, DatasetSummary, build_dataset
from .debian import DEFAULT_PACKAGES
from .splits import SPLITS


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m foley_engine.data", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="build the training dataset")
    build.add_argument("--out", type=Path, default=Path(".cache/data"), help="dataset folder (default .cache/data)")
    build.add_argument("--seed", type=int, default=0)
    build.add_argument("--paired", type=int, default=0, help="number of video+audio clips")
    build.add_argument("--audio-only", type=int, default=0, help="number of pure-audio clips")
    build.add_argument("--packages", nargs="+", default=list(DEFAULT_PACKAGES), help="Debian packages to draw from")
    build.add_argument("--cache", type=Path, default=Path(".cache/debian"), help="where .deb files are kept")
    build.add_argument("--recordings-dir", type=Path, help="use unpacked packages in this folder instead")
    build.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes making clips")
    return parser


def _print_summary(summary: DatasetSummary) -> None:
    print(f"dataset in {summary.out}: {summary.seconds:.1f} s, {summary.bytes_on_disk / 2**20:.1f} MiB")
    for split in SPLITS:
        kinds = ", ".join(f"{count} {kind}" for kind, count in summary.clips[split].items())
        print(f"  {split}: {kinds}")
    for split, count in summary.skipped.items():
        print(f"  {split}: {count} clips skipped (no recordings in this split)")
    print(f"recordings: {summary.recordings_included} used, {summary.recordings_excluded} excluded (see DATACARD.md)")
    for label, counts in summary.classes.items():
        recordings = "/".join(str(counts["recordings"][split]) for split in SPLITS)
        oneshots = "/".join(str(counts["oneshots"][split]) for split in SPLITS)
        print(f"  {label:<10} recordings {recordings:<10} one-shots {oneshots} (train/val/test)")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    config = DataConfig(
        seed=args.seed,
        paired=args.paired,
        audio_only=args.audio_only,
        packages=tuple(args.packages),
        cache=args.cache,
        recordings_dir=args.recordings_dir,
        workers=args.workers,
    )
    bars: dict[str, tqdm] = {}

    def progress(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = tqdm(total=total, desc=stage, unit=" " + stage.rstrip("s"))
        bar.update(done - bar.n)
        if done == total:
            bar.close()

    try:
        summary = build_dataset(config, args.out, progress)
    except (FoleyError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    _print_summary(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
