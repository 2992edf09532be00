"""`python -m foley_engine.cli eval sync --model DIR --data DIR [--split test] [--limit N] [--steps 25]
[--strengths 0,0.5,1,1.5] [--cues true|video] [--semantic-strengths S,…] [--reference] [--out DIR]`, and
`python -m foley_engine.cli eval detector --detector DIR --data DIR [--split test] [--limit N] [--out DIR]`, and
`python -m foley_engine.cli eval semantic --data DIR [--model DIR] [--audio-tower DIR] [--split test] [--limit N]
[--steps 25] [--semantic-strength 1[,2]] [--out DIR]`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from ..data import SPLITS
from ..engine import DEFAULT_CHECKPOINT, DEFAULT_SEMANTIC_STRENGTH, DEFAULT_STEPS, DEFAULT_TEMPORAL_STRENGTH
from ..errors import FoleyError
from ..snapping import DEFAULT_REACH_MS
from .sync import CUE_SOURCES, SyncConfig, run_sync


def _strengths(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None
    if any(not 0 <= value <= 2 for value in values):
        raise argparse.ArgumentTypeError("strengths must lie between 0 and 2")
    return values


def _semantic_strengths(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None
    if not values or any(not 0 < value <= 2 for value in values):
        raise argparse.ArgumentTypeError("semantic strengths must lie above 0 (the base+temporal row) and at most 2")
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
    sync.add_argument(
        "--cues",
        choices=CUE_SOURCES,
        default="true",
        help="the temporal adapter's cues: the clips' true onsets, or the model's event detector on the video",
    )
    sync.add_argument(
        "--semantic-strengths",
        type=_strengths,
        default=(),
        help="also run both adapters: each temporal strength with each of these semantic strengths",
    )
    sync.add_argument("--out", type=Path, default=Path("eval/sync"), help="where sync.json, sync.md and PNGs go")
    detector = commands.add_parser(
        "detector",
        help="the video event detector: onset hit rate, precision, false onsets, AP, classes",
        description="Run the event detector on the split's paired videos at their own frame rates and score "
        "its onsets (±1 frame), activity and classes against the clips' metadata, with a chance row.",
    )
    detector.add_argument(
        "--detector", type=Path, required=True, help="a saved event detector (a stage's or pipeline's event_detector/)"
    )
    detector.add_argument("--data", type=Path, required=True, help="dataset folder (python -m foley_engine.data build)")
    detector.add_argument("--split", choices=SPLITS, default="test")
    detector.add_argument("--limit", type=int, help="at most this many paired clips")
    detector.add_argument("--device", default="cpu", help="torch device, e.g. cuda")
    detector.add_argument("--out", type=Path, default=Path("eval/detector"), help="where detector.json goes")
    semantic = commands.add_parser(
        "semantic",
        help="semantic alignment: class accuracy, FD and KL with and without the semantic adapter's inputs",
        description="Generate the split's paired clips with their true onsets as cues and the semantic adapter off, "
        "given the events' spans only, their text only, or both; score each with an event classifier trained on "
        "the train split (class accuracy, KL against the recording) and CAVP audio embeddings (FD).",
    )
    semantic.add_argument(
        "--model", type=Path, default=DEFAULT_CHECKPOINT, help="saved pipeline directory (default: the bundled one)"
    )
    semantic.add_argument("--data", type=Path, required=True, help="dataset folder (python -m foley_engine.data build)")
    semantic.add_argument(
        "--audio-tower",
        type=Path,
        help="CAVP audio tower for the FD: a `foley train cavp` folder or its audio_encoder/ "
        "(default: the model's own audio_encoder/)",
    )
    semantic.add_argument(
        "--classifier", type=Path, help="where the event classifier is cached (default: OUT/classifier)"
    )
    semantic.add_argument("--split", choices=SPLITS, default="test")
    semantic.add_argument("--limit", type=int, help="at most this many paired clips")
    semantic.add_argument("--steps", type=int, default=DEFAULT_STEPS, help=f"diffusion steps (default {DEFAULT_STEPS})")
    semantic.add_argument(
        "--semantic-strength",
        type=_semantic_strengths,
        default=(DEFAULT_SEMANTIC_STRENGTH,),
        help=f"semantic strengths, comma-separated (default {DEFAULT_SEMANTIC_STRENGTH:g})",
    )
    semantic.add_argument(
        "--temporal-strength",
        type=float,
        default=DEFAULT_TEMPORAL_STRENGTH,
        help=f"temporal strength on the true onsets (default {DEFAULT_TEMPORAL_STRENGTH:g})",
    )
    semantic.add_argument("--seed", type=int, default=0, help="clip k is generated with seed + k")
    semantic.add_argument("--device", default="cpu", help="torch device, e.g. cuda")
    semantic.add_argument(
        "--out", type=Path, default=Path("eval/semantic"), help="where semantic.json, semantic.md and the classifier go"
    )
    return parser


def _print_line(line: str) -> None:
    print(line, flush=True)


def _report(run: Callable[[], object], *written: Path) -> int:
    """Run a benchmark: on a domain, file or value error print it and return 1, else name what it wrote."""
    try:
        run()
    except (FoleyError, OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"wrote {' and '.join(str(path) for path in written)}")
    return 0


def _run_detector(args: argparse.Namespace) -> int:
    # Imported here so `foley eval sync` does not load the detector's modules.
    from ..event_detector import VideoEventDetector
    from .visual_events import benchmark_detector, format_benchmark, write_benchmark

    if not (args.detector / "config.json").is_file():
        print(f"error: {args.detector}: no saved event detector (config.json) here", file=sys.stderr)
        return 1
    detector = VideoEventDetector.from_pretrained(args.detector, low_cpu_mem_usage=False).to(args.device).eval()
    try:
        result = benchmark_detector(detector, args.data, args.split, args.limit, _print_line)
    except (FoleyError, OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(format_benchmark(result))
    print(f"wrote {write_benchmark(result, args.out)}")
    return 0


def _run_semantic(args: argparse.Namespace) -> int:
    # Imported here so `foley eval sync` does not load the classifier and the text model's modules.
    from .semantic import SemanticConfig, run_semantic

    config = SemanticConfig(
        data=args.data,
        out=args.out,
        model=args.model,
        audio_tower=args.audio_tower,
        classifier=args.classifier,
        split=args.split,
        limit=args.limit,
        steps=args.steps,
        semantic_strengths=args.semantic_strength,
        temporal_strength=args.temporal_strength,
        seed=args.seed,
        device=args.device,
    )
    return _report(lambda: run_semantic(config, log=_print_line), args.out / "semantic.json", args.out / "semantic.md")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    if args.command == "detector":
        return _run_detector(args)
    if args.command == "semantic":
        return _run_semantic(args)
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
        cues=args.cues,
        semantic_strengths=args.semantic_strengths,
    )
    return _report(lambda: run_sync(config, log=_print_line), args.out / "sync.json", args.out / "sync.md")


if __name__ == "__main__":
    sys.exit(main())
