"""The commands that let a person hear and see the result: `foley preview`, `foley plot`, `foley mlt`.

Each reads a timeline that `foley generate` wrote and leaves it as it is.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import opentimelineio as otio

from .errors import PluginError
from .files import write_atomically
from .foley_track import is_foley_track
from .mlt import default_project_path, mlt_project
from .preview import MAX_WIDTH, default_preview_path, render_preview
from .timeline_io import read_timeline

RENDER_COMMANDS = ("preview", "plot", "mlt")
# The exit status when something was written but some clips had to be left out (as `foley generate`).
LEFT_OUT = 3


def add_render_commands(commands: argparse._SubParsersAction) -> None:
    """Add `preview`, `plot` and `mlt` to the `foley` command's subcommands."""
    preview = commands.add_parser(
        "preview", help="a movie of the first video track with the Foley mixed in (H.264/AAC MP4)"
    )
    _add_common(preview, "the movie (default: beside the timeline, <name>.preview.mp4)")
    preview.add_argument("--width", type=int, default=MAX_WIDTH, help=f"largest picture width (default {MAX_WIDTH})")

    plot = commands.add_parser("plot", help="a spectrogram PNG per Foley clip with the markers drawn in")
    _add_common(plot, "the folder for the PNG files (default: beside the timeline, <name>-plots/)")

    mlt = commands.add_parser("mlt", help="the timeline as an MLT XML project, for melt to render")
    _add_common(mlt, "the project file (default: beside the timeline, <name>.mlt)")


def _add_common(parser: argparse.ArgumentParser, output_help: str) -> None:
    parser.add_argument("timeline", type=Path, help="a timeline written by `foley generate`")
    parser.add_argument("-o", "--output", type=Path, help=output_help)
    parser.add_argument(
        "--media-root", type=Path, action="append", default=[], help="find moved media by file name below this folder; repeatable"
    )


def run_render_command(args: argparse.Namespace) -> int:
    """Run `preview`, `plot` or `mlt`; 0, or 3 when clips had to be left out (each named on stderr)."""
    timeline = read_timeline(args.timeline)
    warnings: list[str] = []

    def warn(message: str) -> None:
        warnings.append(message)
        print(f"foley: {message}", file=sys.stderr)

    if args.command == "mlt":
        output = args.output or default_project_path(args.timeline)
        _refuse_input(args.timeline, output)
        project = mlt_project(timeline, args.timeline, output, args.media_root)
        for reason in project.left_out:
            warn(f"{reason}; left out of the project")
        write_atomically(output, project.xml.encode("utf-8"))
        print(f"wrote {output}; render it with: melt {output} -consumer avformat:{output.with_suffix('.mp4')}")
    elif args.command == "preview":
        _require_foley(timeline, args.timeline)
        if args.width < 2:
            raise PluginError(f"--width {args.width}: the picture must be at least 2 pixels wide")
        output = args.output or default_preview_path(args.timeline)
        _refuse_input(args.timeline, output)
        render_preview(timeline, args.timeline, output, media_roots=args.media_root, max_width=args.width, warn=warn)
        print(f"wrote {output}")
    else:
        # Imported here: matplotlib takes most of a second to load, which every other command would pay.
        from .plot import default_plot_folder, foley_clip_views, write_plots

        _require_foley(timeline, args.timeline)
        folder = args.output or default_plot_folder(args.timeline)
        views, problems = foley_clip_views(timeline, args.timeline, args.media_root)
        for problem in problems:
            warn(f"{problem}; it gets no picture")
        written = write_plots(views, folder, warn)
        print(f"wrote {len(written)} picture(s) in {folder}")
    return LEFT_OUT if warnings else 0


def _require_foley(timeline: otio.schema.Timeline, path: Path) -> None:
    if not any(is_foley_track(track) for track in timeline.tracks):
        raise PluginError(
            f"{path}: has no Foley track; run `foley generate {path}` first and give this command its output "
            "(<name>.foley.<ext>)"
        )


def _refuse_input(source: Path, output: Path) -> None:
    if output.resolve() == Path(source).resolve():
        raise PluginError(f"{output}: would replace the input timeline; choose another -o")
