"""`foley`: generate a Foley track for a timeline, detect cues in its video, or run the demo."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from contextlib import ExitStack
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio
from tqdm import tqdm

from foley_proto.v1 import engine_pb2 as pb

from . import demo
from .auto_markers import add_auto_markers, marker_convention
from .client import EngineClient, EngineError
from .clips import ClipWindow, select_clips, start_timecode, timeline_rate
from .embedded import EmbeddedEngine
from .errors import PluginError
from .files import check_writable
from .foley_track import add_foley_track, media_folder_for
from .integrations import file_actions
from .integrations import resolve as davinci_resolve
from .jobs import CueSource, GenerateOptions, check_cue_source, detect_request
from .manifest import write_manifest
from .media import unreadable_reason
from .render_commands import RENDER_COMMANDS, add_render_commands, run_render_command
from .resume import FinishedClips
from .scoring import ClipScorer
from .timeline_io import (
    bundle_media_folder,
    check_markers_output_format,
    check_output_format,
    default_markers_output_path,
    default_output_path,
    read_timelines,
    write_timelines,
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="foley",
        description="Foley for the clips of an editor's timeline.",
        epilog="Model commands (run in the engine's environment): foley data|train|eval|convert --help",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    generate = commands.add_parser("generate", help="add a Foley track to a timeline (written to a new file)")
    generate.add_argument("timeline", type=Path, help="any timeline OpenTimelineIO reads (.otio, .xml, .fcpxml, .edl, .aaf, …)")
    _add_generate_options(generate)

    detect = commands.add_parser(
        "detect", help="mark the onsets the engine sees in each clip's video (written to a new file)"
    )
    detect.add_argument("timeline", type=Path, help="any timeline OpenTimelineIO reads (.otio, .xml, .fcpxml, .edl, …)")
    detect.add_argument(
        "-o", "--output", type=Path, help="output timeline (default: beside the input, <name>.cues.<ext>)"
    )
    _add_selection_options(detect)
    _add_engine_options(detect)

    run_demo = commands.add_parser("demo", help="make a demo video and timeline, then generate Foley for it")
    run_demo.add_argument("--folder", type=Path, default=Path("demo-out"), help="where the demo goes (default: ./demo-out)")
    _add_generate_options(run_demo, with_output=False)
    add_render_commands(commands)

    for name, verb in (("install", "add"), ("uninstall", "remove")):
        integration = commands.add_parser(name, help=f"{verb} Generate Foley in DaVinci Resolve or in file managers")
        integration.add_argument("target", choices=INTEGRATIONS, help="resolve: Workspace > Scripts > Edit > Generate Foley; "
                                 "file-actions: right-click a timeline in KDE Dolphin or GNOME Files")
        if name == "install":
            integration.add_argument("--force", action="store_true", help="replace files in the way that foley did not install")
    return parser


def _add_generate_options(parser: argparse.ArgumentParser, with_output: bool = True) -> None:
    if with_output:
        parser.add_argument("-o", "--output", type=Path, help="output timeline (default: beside the input, <name>.foley.<ext>)")
        _add_selection_options(parser)
        parser.add_argument(
            "--manifest", type=Path, help="also write a JSON list of the WAVs and their timeline frames (for editor scripts)"
        )
    _add_engine_options(parser)
    parser.add_argument("--prompt", default="", help="describe the sounds (for example 'footsteps on gravel')")
    parser.add_argument(
        "--cues",
        choices=[source.value for source in CueSource],
        default=CueSource.AUTO.value,
        help="where onset cues come from: markers, video (onsets the engine sees), both, none; "
        "auto (default): a clip's markers where it has some, else its video",
    )
    parser.add_argument("--temporal-strength", type=float, help="how strictly sounds follow the markers (engine default if unset)")
    parser.add_argument("--semantic-strength", type=float, help="how strongly sounds follow the labels and prompt")
    parser.add_argument("--guidance", type=float, help="classifier-free guidance scale")
    parser.add_argument("--steps", type=int, default=0, help="diffusion steps (engine default if unset)")
    parser.add_argument("--seed", type=int, default=0, help="base seed; clip N uses seed+N")
    parser.add_argument("--sample-rate", type=int, default=48_000, help="sample rate of the WAV files (default 48000)")
    parser.add_argument(
        "--snap", action="store_true", help="move each generated transient near a marker onto it (audio quantize)"
    )
    parser.add_argument(
        "--regenerate",
        action="store_true",
        help="generate every clip again, even those an earlier run finished with the same settings",
    )


def _add_selection_options(parser: argparse.ArgumentParser) -> None:
    """Which clips of the timeline to score, and how to read it and find its media."""
    parser.add_argument("--track", action="append", help="only clips on this video track (name or 1-based index); repeatable")
    parser.add_argument("--clip", action="append", help="only clips with this name; repeatable")
    parser.add_argument("--range", help="only this part of the timeline: START-END in seconds or HH:MM:SS:FF timecode")
    parser.add_argument("--media-root", type=Path, action="append", default=[], help="find moved media by file name below this folder; repeatable")
    parser.add_argument("--rate", type=float, help="frame rate for formats that store none (EDL; default 24)")
    parser.add_argument(
        "--ignore-timecode-mismatch", action="store_true", help="EDL: accept events whose source and record lengths differ"
    )


def _add_engine_options(parser: argparse.ArgumentParser) -> None:
    """Which engine to use: one at an address, or one started for the run."""
    parser.add_argument(
        "--engine",
        default=os.environ.get(ENGINE_ENV) or None,
        help=f"engine address (unix:/path/engine.sock or host:port; or set {ENGINE_ENV}); default: start one for this run",
    )
    parser.add_argument(
        "--engine-token-file",
        type=Path,
        help="file holding the token of an engine that listens beyond loopback (or set FOLEY_ENGINE_TOKEN)",
    )
    parser.add_argument("--model", type=Path, help="model folder for the embedded engine")
    parser.add_argument("--device", default="cpu", help="device for the embedded engine (cpu, cuda)")


# Model-side commands run in a child Python (`foley_engine.cli`): the plugin never imports torch.
ENGINE_COMMANDS = ("data", "train", "eval", "convert")
# How long `--engine ADDRESS` may take to become ready (it may still be loading its model).
# The same variable `foley-engine serve` reads its token from.
TOKEN_ENV = "FOLEY_ENGINE_TOKEN"
ENGINE_WAIT_S = 180.0
# The engine address when --engine is not given: how editor scripts and file actions reach a running engine.
ENGINE_ENV = "FOLEY_ENGINE"
INTEGRATIONS = ("resolve", "file-actions")


def engine_token(path: Path | None) -> str | None:
    """The engine token from `path`, else from FOLEY_ENGINE_TOKEN, else None."""
    if path is None:
        return os.environ.get(TOKEN_ENV) or None
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except OSError as error:
        raise PluginError(f"cannot read the engine token file {path}: {error.strerror}") from None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ENGINE_COMMANDS:
        return subprocess.call([sys.executable, "-m", "foley_engine.cli", *argv])
    args = _parser().parse_args(argv)
    _interrupt_on_signals()
    try:
        if args.command in ("install", "uninstall"):
            return _integration(args)
        if args.command == "demo":
            return _demo(args)
        if args.command in RENDER_COMMANDS:
            return run_render_command(args)
        if args.command == "detect":
            return _detect(args)
        return _generate(args)
    except KeyboardInterrupt:
        if args.command == "detect":
            print("\nfoley: interrupted; the engine's detection was cancelled and no timeline was written", file=sys.stderr)
        else:
            print(
                "\nfoley: interrupted; the engine's jobs were cancelled and no timeline was written"
                " (finished clips are kept for the next run)",
                file=sys.stderr,
            )
        return 130
    except PluginError as error:
        print(f"foley: {error}", file=sys.stderr)
        return 1


def _interrupt_on_signals() -> None:
    """Ctrl-C and SIGTERM both cancel the run cleanly.

    A process started in the background by a non-interactive shell inherits
    SIGINT as ignored, and SIGTERM would otherwise kill us without cancelling
    the engine's jobs; both become KeyboardInterrupt.
    """
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)


def _options(args: argparse.Namespace) -> GenerateOptions:
    return GenerateOptions(
        prompt=args.prompt,
        semantic_strength=args.semantic_strength,
        temporal_strength=args.temporal_strength,
        seed=args.seed,
        steps=args.steps,
        guidance_scale=args.guidance,
        sample_rate=args.sample_rate,
        snap=args.snap,
        cues=CueSource(args.cues),
    )


def _demo(args: argparse.Namespace) -> int:
    material = demo.make_demo(args.folder)
    print(f"demo video:    {material.video}\ndemo timeline: {material.timeline}")
    args.timeline = material.timeline
    args.output = material.timeline.with_name("demo.foley.otio")
    if args.output.exists():
        args.output.unlink()  # the demo's own previous result, written again on every run
    args.track = args.clip = args.range = args.rate = None
    args.ignore_timecode_mismatch = False
    args.media_root = []
    args.manifest = None
    return _generate(args)


def _read(args: argparse.Namespace) -> list[otio.schema.Timeline]:
    """The timelines of the input file; the first is the one scored."""
    source = args.timeline
    timelines = read_timelines(source, rate=args.rate, ignore_timecode_mismatch=args.ignore_timecode_mismatch)
    if len(timelines) > 1:
        print(f"foley: {source} holds {len(timelines)} timelines; scoring the first, {timelines[0].name!r} "
              "(the others are written back unchanged)", file=sys.stderr)
    return timelines


def _output(args: argparse.Namespace, default: Path) -> Path:
    """The output path asked for (else `default`); never the input."""
    output = args.output or default
    if output.resolve() == args.timeline.resolve():
        raise PluginError(f"{output}: the output would replace the input timeline; choose another -o")
    return output


def _windows(args: argparse.Namespace, timeline: otio.schema.Timeline) -> tuple[list[ClipWindow], list[ClipWindow]]:
    """The selected clips' windows whose media is there and readable, and those whose media is missing
    (each named as it is skipped). PluginError when no clip is left or some media cannot be read."""
    source = args.timeline
    windows = select_clips(
        timeline,
        tracks=[_track_key(t) for t in args.track] if args.track else None,
        clip_names=args.clip,
        time_range=_parse_range(args.range, timeline) if args.range else None,
        # An .otioz bundle's own media come first: they are unpacked for the run.
        media_roots=[*filter(None, [bundle_media_folder(timeline)]), *args.media_root],
        timeline_path=source,
    )
    missing = [w for w in windows if w.media.path is None]
    ready = [w for w in windows if w.media.path is not None]
    for window in missing:
        print(f"foley: skipping {window.media.reason}", file=sys.stderr)
    if not ready:
        raise PluginError(f"{source}: no video clip with readable media to score ({len(windows)} selected)")
    _check_media_readable(ready)
    return ready, missing


def _connect(
    args: argparse.Namespace, ready: list[ClipWindow], stack: ExitStack
) -> tuple[EngineClient, pb.EngineInfo, EmbeddedEngine | None]:
    """A client of the engine at --engine, or of one started for this run (until `stack` closes),
    once it serves; its GetInfo, and the embedded engine if one was started."""
    embedded = None
    if args.engine:
        address = args.engine
    else:
        roots = sorted({w.media.path.resolve().parent for w in ready})
        print("starting the embedded engine…", file=sys.stderr)
        embedded = stack.enter_context(EmbeddedEngine(args.model, args.device, roots))
        address = embedded.address
    client = stack.enter_context(EngineClient(address, engine_token(args.engine_token_file)))
    if not client.serving():
        print(f"waiting for the engine at {address} to load its model…", file=sys.stderr)
        client.wait_serving(ENGINE_WAIT_S)
    return client, client.info(), embedded


def _generate(args: argparse.Namespace) -> int:
    timelines = _read(args)
    timeline = timelines[0]
    output = _output(args, default_output_path(args.timeline))
    check_output_format(output, timeline_rate(timeline))
    # Everything that can be checked before generation is: a run should not
    # spend the engine's time on clips it could not read or save.
    ready, missing = _windows(args, timeline)
    media_folder = media_folder_for(output)
    check_writable(output.parent)
    if args.manifest is not None:
        check_writable(args.manifest.parent)
    if media_folder.is_dir():
        check_writable(media_folder)
    options = _options(args)
    with ExitStack() as stack:
        client, info, embedded = _connect(args, ready, stack)
        if not info.model_trained:
            print(f"foley: model {info.model_name!r} is UNTRAINED: it makes placeholder noise, not Foley", file=sys.stderr)
        notice = check_cue_source(options.cues, info, ready)
        if notice is not None:
            print(f"foley: {notice}", file=sys.stderr)
        scorer = ClipScorer(client, info, options, FinishedClips(media_folder), embedded)
        results = scorer.score(ready, reuse=not args.regenerate)
    add_foley_track(timeline, results, output)
    try:
        written = write_timelines(timelines, output)
    except PluginError as error:
        raise PluginError(
            f"{error}\nAll {len(results)} clip(s) are finished and kept in {media_folder}: "
            "run the same command again to write the timeline without generating them again."
        ) from None
    output = written.path  # an AAF the AAF writer refused is written as .otio
    for note in written.notes:
        print(f"foley: {note}", file=sys.stderr)
    if args.manifest is not None:
        write_manifest(args.manifest, timeline, output)
    print(f"wrote {output} with a Foley track of {len(results)} clip(s); audio in {media_folder}")
    return _missing_status(missing)


def _detect(args: argparse.Namespace) -> int:
    """`foley detect`: the engine's video onsets as "foley:auto" markers on each clip, in a new file."""
    timelines = _read(args)
    timeline = timelines[0]
    output = _output(args, default_markers_output_path(args.timeline))
    check_markers_output_format(output, timeline, timeline_rate(timeline))
    ready, missing = _windows(args, timeline)
    check_writable(output.parent)
    found: list[tuple[ClipWindow, pb.DetectResponse]] = []
    with ExitStack() as stack:
        client, info, _ = _connect(args, ready, stack)
        if not info.event_detector:
            raise PluginError(
                f"the engine's model {info.model_name!r} has no video event detector, so it cannot find cues in "
                "the video; load a model that has one (--model DIR, or `foley-engine serve --model DIR`)"
            )
        if not info.model_trained:
            print(f"foley: model {info.model_name!r} is UNTRAINED: its onsets are placeholders", file=sys.stderr)
        for index, window in enumerate(tqdm(ready, desc="clips", unit="clip")):
            try:
                found.append((window, client.detect(detect_request(window))))
            except EngineError as error:
                track = window.track_name or f"V{window.track_index + 1}"
                raise PluginError(
                    f"clip {index + 1} of {len(ready)} {window.name!r} (track {track!r}): {error}\n"
                    "No timeline was written."
                ) from None
    done = add_auto_markers(
        timeline,
        found,
        marker_convention(timeline, args.timeline, output),
        shared_compound_clips=output.suffix.lower() == ".fcpxml",
    )
    written = write_timelines(timelines, output)
    for note in written.notes:
        print(f"foley: {note}", file=sys.stderr)
    replaced = f", replacing {done.replaced} earlier one(s)" if done.replaced else ""
    print(f"wrote {written.path} with {done.added} foley:auto marker(s) on {done.clips} clip(s){replaced}")
    return _missing_status(missing)


def _missing_status(missing: list[ClipWindow]) -> int:
    """Exit status 3, after naming them again, when clips were skipped for missing media; else 0."""
    if missing:
        names = ", ".join(repr(w.name) for w in missing[:10]) + (", …" if len(missing) > 10 else "")
        print(f"foley: {len(missing)} clip(s) skipped for missing media (see above): {names}", file=sys.stderr)
        return 3
    return 0


def _integration(args: argparse.Namespace) -> int:
    """`foley install|uninstall resolve|file-actions`."""
    if args.command == "install":
        if args.target == "resolve":
            path = davinci_resolve.install_script(force=args.force)
            print(f"installed {path}\nrestart DaVinci Resolve, open a timeline on the Edit page and choose "
                  "Workspace > Scripts > Edit > Generate Foley")
        else:
            paths = file_actions.install_actions(force=args.force)
            print("installed:\n" + "\n".join(f"  {path}" for path in paths)
                  + "\nright-click a timeline file: Generate Foley (Dolphin), Scripts > Generate Foley (GNOME Files)")
        return 0
    removed, kept = davinci_resolve.uninstall_script() if args.target == "resolve" else file_actions.uninstall_actions()
    for path in removed:
        print(f"removed {path}")
    for path in kept:
        print(f"foley: left {path} alone: foley did not install it", file=sys.stderr)
    if not removed and not kept:
        print(f"nothing to remove: {args.target} is not installed")
    return 0


def _check_media_readable(windows: list[ClipWindow]) -> None:
    """PluginError naming every clip whose media file is there but cannot be read."""
    reasons: dict[Path, str | None] = {}
    problems = []
    for window in windows:
        path = window.media.path
        if path not in reasons:
            reasons[path] = unreadable_reason(path)
        if reasons[path] is not None:
            problems.append(f"  clip {window.name!r}: {path} ({reasons[path]})")
    if problems:
        raise PluginError(
            f"cannot read the media of {len(problems)} clip(s):\n" + "\n".join(problems)
            + "\ncheck that those files can be read (permissions, a failing disk or network drive), "
            "or relink the clips; nothing was generated"
        )


def _track_key(text: str) -> str | int:
    return int(text) - 1 if text.isdigit() else text


def _parse_range(text: str, timeline: otio.schema.Timeline) -> otio.opentime.TimeRange:
    """START-END as seconds or timecode; timecodes count from the timeline's start timecode.

    At 29.97 and 59.94 fps a timecode is drop-frame, written with ; or : alike.
    """
    rate = timeline_rate(timeline)
    try:
        start_text, end_text = text.split("-")
        start, end = (_parse_time(part.strip(), rate, timeline) for part in (start_text, end_text))
    except ValueError:
        raise PluginError(f"--range {text!r}: expected START-END, for example 2.5-10 or 01:00:02:00-01:00:10:00") from None
    if end <= start:
        raise PluginError(f"--range {text!r}: the end must come after the start")
    return otio.opentime.TimeRange.range_from_start_end_time(start, end)


# NTSC timecode is drop-frame unless it says otherwise (editors show it as HH:MM:SS;FF).
_DROP_FRAME_RATES = (Fraction(30000, 1001), Fraction(60000, 1001))


def _parse_time(text: str, rate: float, timeline: otio.schema.Timeline) -> otio.opentime.RationalTime:
    if ":" in text:
        if ";" not in text and Fraction(rate).limit_denominator(1001) in _DROP_FRAME_RATES:
            head, _, frames = text.rpartition(":")
            text = f"{head};{frames}"
        time = otio.opentime.from_timecode(text, rate)
        origin = start_timecode(timeline)
        return time - origin if origin is not None and time >= origin else time
    return otio.opentime.RationalTime(round(Fraction(text) * Fraction(rate).limit_denominator(1001)), rate)


if __name__ == "__main__":
    sys.exit(main())
