"""Reading and writing timeline files through the installed OTIO adapters."""

from __future__ import annotations

import atexit
import contextlib
import copy
import io
import os
import re
import shutil
import tempfile
import weakref
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path, PurePosixPath

import opentimelineio as otio

from foley_plugin.errors import TimelineError
from foley_plugin.files import write_atomically
from foley_plugin.media import url_to_path
from foley_plugin.timeutil import from_seconds, to_seconds

DEFAULT_EDL_RATE = 24.0

# Formats this plugin writes, by suffix. Left out on purpose: OTIOZ/OTIOD
# bundles (the writers copy in every media file, found relative to the current
# folder, and refuse to replace an existing file). The AAF writer takes only
# some timelines (see `_write_aaf`).
_WRITERS = {
    ".otio": "otio_json",
    ".xml": "fcp_xml",
    ".fcpxml": "fcpx_xml",
    ".edl": "cmx_3600",
    ".aaf": "AAF",
    ".kdenlive": "kdenlive",
    ".otioz": "otioz",
}

# Formats that keep an added audio track. An EDL holds a single video track, so
# the default output for EDL input (and for formats not written) is .otio.
_FOLEY_FORMATS = (".otio", ".otioz", ".xml", ".fcpxml", ".aaf", ".kdenlive")

# Formats that keep clip markers, which `foley detect` writes. Not AAF, whose
# writer drops every marker, nor Kdenlive projects, whose writer
# (otio-kdenlive-adapter 0.0.3) drops every clip marker: their results go to .otio.
_MARKER_FORMATS = (".otio", ".otioz", ".xml", ".fcpxml", ".edl")
_NO_CLIP_MARKERS = {
    ".aaf": "the AAF writer (otio-aaf-adapter) drops every marker",
    ".kdenlive": "the Kdenlive project writer (otio-kdenlive-adapter) drops every clip marker; "
    "Kdenlive 25.04 and later import .otio with its clip markers",
}

# The frame rates otio-fcpx-xml-adapter 1.0.0 handles. It reads an NTSC
# format (frameDuration 1001/30000s) as a whole-number rate (29), truncating
# every time to that, and writes NTSC timelines with an empty frameDuration.
_FCPXML_RATES = (24, 25, 30, 50, 60)
_FCPXML_FRAME_DURATION = re.compile(r'frameDuration="(\d+)/(\d+)s"')
# Its reader also turns a time into frames with int(float(a) / float(b) * fps), which truncates
# what a float cannot hold exactly: "41/10s" at 30 fps, frame 123, reads as frame 122, so a
# marker or a cut written on such a frame came back a frame early. `_exact_fcpxml_times` gives
# it the exact conversion (a time between frames still truncates, as the reader does).

# Kdenlive project files go through otio-kdenlive-adapter, which its authors no
# longer maintain (Kdenlive 25.04 reads and writes .otio itself) and which prints
# a notice saying so on every read and write: that notice is kept off our output.
_QUIET_ADAPTERS = ("kdenlive",)

# The media of each .otioz read in this process, unpacked (the bundle keeps them inside the
# zip, where neither the engine nor a rewritten bundle can reach them); removed at exit.
_BUNDLE_MEDIA: dict[Path, Path] = {}

# Where each timeline read in this process came from, so that writing never
# replaces its own input, and the name of the collection that held it (an
# FCPXML event), so that writing several timelines keeps it. Keyed by id() with
# a weak reference to tell a live timeline from a later object reusing the id.
_SOURCES: dict[int, tuple[weakref.ref, Path, str]] = {}


def readable_suffixes() -> dict[str, str]:
    """Return {suffix: adapter name} for every format the installed adapters read.

    Built from OTIO's plugin manifest, so an installed Kdenlive adapter adds
    `.kdenlive` without any change here.
    """
    table: dict[str, str] = {}
    for adapter in otio.plugins.ActiveManifest().adapters:
        if adapter.has_feature("read"):
            for suffix in adapter.suffixes:
                table.setdefault("." + suffix.lower(), adapter.name)
    return table


def read_timelines(
    path: Path,
    rate: float | None = None,
    *,
    ignore_timecode_mismatch: bool = False,
) -> list[otio.schema.Timeline]:
    """Read every timeline in `path` (FCPXML events and libraries hold several).

    `rate` is the frame rate of an EDL (EDLs do not store one; default 24);
    `ignore_timecode_mismatch` lets the EDL reader recompute record times from
    source times where they disagree. Both are ignored for other formats.
    FCP7 XML tracks and items marked <enabled>FALSE</enabled> come back
    disabled (the reader leaves them enabled). Raises TimelineError for a
    missing, unknown, unreadable or empty file, and for FCPXML at a rate its
    reader misreads (NTSC).
    """
    path = Path(path)
    adapter = _reader_for(path)
    if adapter == "fcpx_xml":
        _check_fcpxml_rates(path)
    options: dict = {}
    if adapter == "cmx_3600":
        options = {
            "rate": rate or DEFAULT_EDL_RATE,
            "ignore_timecode_mismatch": ignore_timecode_mismatch,
        }
    exact = _exact_fcpxml_times() if adapter == "fcpx_xml" else contextlib.nullcontext()
    try:
        with _quiet(adapter), exact:
            result = otio.adapters.read_from_file(str(path), adapter_name=adapter, **options)
    except Exception as exc:  # adapters raise anything from ValueError to IndexError
        raise _read_error(path, adapter, exc) from exc

    timelines = _timelines_in(result)
    if not timelines:
        raise TimelineError(
            f"{path}: holds no timeline (only {_describe(result)}); "
            "export a sequence or project from the editor instead"
        )
    if adapter == "fcp_xml":
        for timeline in timelines:
            _disable_what_fcp_xml_disables(timeline)
    if adapter == "otioz":
        _unpack_bundle_media(path)
    _remember_source(timelines, path, "" if isinstance(result, otio.schema.Timeline) else result.name)
    return timelines


def read_timeline(
    path: Path,
    rate: float | None = None,
    *,
    ignore_timecode_mismatch: bool = False,
) -> otio.schema.Timeline:
    """Read the first timeline in `path`; see `read_timelines` for the arguments."""
    return read_timelines(path, rate, ignore_timecode_mismatch=ignore_timecode_mismatch)[0]


def default_output_path(input_path: Path) -> Path:
    """Return where the result of `input_path` goes by default: `<stem>.foley<suffix>` beside it.

    Formats that cannot carry the new Foley track (EDL) get `.otio`.
    """
    input_path = Path(input_path)
    suffix = input_path.suffix.lower()
    if suffix not in _FOLEY_FORMATS:
        suffix = ".otio"
    return input_path.with_name(f"{input_path.stem}.foley{suffix}")


def default_markers_output_path(input_path: Path) -> Path:
    """Return where `foley detect`'s result of `input_path` goes by default: `<stem>.cues<suffix>`
    beside it, as `.otio` for formats whose writers drop clip markers (AAF, Kdenlive projects)."""
    input_path = Path(input_path)
    suffix = input_path.suffix.lower()
    if suffix not in _MARKER_FORMATS:
        suffix = ".otio"
    return input_path.with_name(f"{input_path.stem}.cues{suffix}")


def check_markers_output_format(path: Path, timeline: otio.schema.Timeline, rate: float | None = None) -> None:
    """TimelineError unless `timeline` with clip markers added can be written to `path` keeping them.

    Checked before any detection, like `check_output_format` before generation.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in _MARKER_FORMATS:
        reason = _NO_CLIP_MARKERS.get(suffix, f"{suffix or 'a file without a suffix'} is not written here")
        raise TimelineError(
            f"{path}: cannot hold the detected markers ({reason}); "
            f"write the result as {', '.join(_MARKER_FORMATS)}"
        )
    if suffix == ".fcpxml":
        _check_fcpxml_rate(path, rate)
    if suffix == ".edl":
        _check_fits_edl(timeline, path)


def check_output_format(path: Path, rate: float | None = None) -> None:
    """TimelineError unless `path`'s format is written here and keeps an added audio track.

    `rate` is the timeline's frame rate, where known: the FCPXML writer takes
    only whole-number rates. Checked before any generation, so that a result
    that could not be saved in that format is refused before the engine spends
    time on it.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in _FOLEY_FORMATS:
        raise TimelineError(
            f"{path}: {suffix or 'a file without a suffix'} cannot hold the Foley track; "
            f"write the result as {', '.join(_FOLEY_FORMATS)}"
        )
    if suffix == ".fcpxml":
        _check_fcpxml_rate(path, rate)


def _check_fcpxml_rate(path: Path, rate: float | None) -> None:
    if rate is not None and rate not in _FCPXML_RATES:
        raise TimelineError(
            f"{path}: the FCPXML writer (otio-fcpx-xml-adapter) cannot write a {rate:.3f} fps timeline "
            f"(only {', '.join(map(str, _FCPXML_RATES))} fps); write the result as .otio or .xml instead"
        )


@dataclass(frozen=True)
class Written:
    """Where a result was written, and what the user should know about it (one line each)."""

    path: Path
    notes: tuple[str, ...] = ()


def write_timeline(timeline: otio.schema.Timeline, path: Path) -> Written:
    """Write one timeline to `path`; see `write_timelines`."""
    return write_timelines([timeline], path)


def write_timelines(timelines: Sequence[otio.schema.Timeline], path: Path) -> Written:
    """Write `timelines` to `path` atomically, in the format its suffix names.

    Several timelines (an FCPXML event or library holds more than one) are
    written together, as the file they came from held them. The whole file is
    rendered first, then written with `files.write_atomically`: a reader never
    sees half a file and a failure leaves nothing behind. Refuses to replace
    the file a timeline was read from.

    The AAF writer takes one timeline whose clips, gaps and transitions all
    run at the timeline's rate, and drops every marker. A timeline it cannot
    take is written as .otio under the same name instead; the notes say so.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    adapter = _WRITERS.get(suffix)
    if adapter is None:
        raise TimelineError(
            f"{path}: cannot write {suffix or 'files without a suffix'}; "
            f"timelines can be written as {', '.join(_WRITERS)}"
        )
    for timeline in timelines:
        source = _source_of(timeline)
        if source is not None and _same_file(source, path):
            raise TimelineError(
                f"{path}: is the timeline's own input; write the result to a new file "
                f"(for example {default_output_path(source).name})"
            )
    folder = path.parent
    if not folder.is_dir():
        raise TimelineError(f"{path}: folder {folder} does not exist")
    if adapter == "AAF":
        return _write_aaf(timelines, path)
    if adapter == "otioz":
        return _write_otioz(timelines, path)

    collection = _collection_name(timelines[0])
    if adapter == "cmx_3600":
        for timeline in timelines:
            _check_fits_edl(timeline, path)
        # The EDL writer edits the timeline it is given (it appends a gap after
        # a trailing transition), so it gets a copy.
        timelines = [copy.deepcopy(timeline) for timeline in timelines]
    elif adapter == "fcp_xml":
        timelines = [_with_shared_file_ranges(timeline) for timeline in timelines]
    result = timelines[0] if len(timelines) == 1 else otio.schema.SerializableCollection(
        name=collection, children=[copy.deepcopy(timeline) for timeline in timelines]
    )
    try:
        with _quiet(adapter):
            text = otio.adapters.write_to_string(result, adapter_name=adapter)
    except Exception as exc:  # adapters raise anything; the message names the cause
        raise TimelineError(
            f"{path}: the {adapter} writer failed ({_brief(exc)}); "
            f"try another format: {', '.join(_FOLEY_FORMATS)}"
        ) from exc
    write_atomically(path, text.encode("utf-8"))
    return Written(path)


def bundle_media_folder(timeline: otio.schema.Timeline) -> Path | None:
    """Where the media of the .otioz bundle `timeline` was read from are unpacked, or None."""
    source = _source_of(timeline)
    return None if source is None else _BUNDLE_MEDIA.get(source)


def _unpack_bundle_media(path: Path) -> None:
    source = path.resolve()
    if source in _BUNDLE_MEDIA:
        return
    folder = Path(tempfile.mkdtemp(prefix="foley-otioz-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    try:
        with zipfile.ZipFile(path) as bundle:
            members = [name for name in bundle.namelist() if name.startswith("media/") and not name.endswith("/")]
            for name in members:
                # Names are flattened to their last part: a crafted "media/../x" cannot leave the folder.
                with bundle.open(name) as packed, open(folder / PurePosixPath(name).name, "wb") as unpacked:
                    shutil.copyfileobj(packed, unpacked)
    except (OSError, zipfile.BadZipFile) as exc:
        raise TimelineError(f"{path}: cannot unpack the bundle's media ({exc})") from exc
    _BUNDLE_MEDIA[source] = folder


def _write_otioz(timelines: Sequence[otio.schema.Timeline], path: Path) -> Written:
    """Bundle the timeline and every file it plays (the Foley WAVs too) into `path`, atomically."""
    if len(timelines) != 1:
        raise TimelineError(f"{path}: an .otioz bundle holds one timeline and there are {len(timelines)}")
    timeline = timelines[0].deepcopy()
    unpacked = bundle_media_folder(timelines[0])
    for clip in timeline.find_clips():
        reference = clip.media_reference
        if isinstance(reference, otio.schema.ExternalReference):
            # The bundle writer takes files by path; relative URLs are the output folder's or, from a
            # bundle, its unpacked media's. It files each under media/<name> again.
            local = url_to_path(reference.target_url, path.parent)
            if local is not None and not local.exists() and unpacked is not None:
                local = unpacked / local.name
            if local is not None:
                reference.target_url = local.resolve().as_uri()
    scratch = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        otio.adapters.write_to_file(timeline, str(scratch), adapter_name="otioz")
        os.replace(scratch, path)
    except Exception as exc:  # the bundle writer raises OTIO and OS errors for files it cannot take
        raise TimelineError(
            f"{path}: the .otioz writer failed ({_brief(exc)}); write the result as .otio instead"
        ) from exc
    finally:
        scratch.unlink(missing_ok=True)
    return Written(path)


def _write_aaf(timelines: Sequence[otio.schema.Timeline], path: Path) -> Written:
    """Write an AAF, or, where the AAF writer refuses the timeline, the same name as .otio."""
    fallback = path.with_suffix(".otio")
    if len(timelines) != 1:
        reason = f"an AAF holds one timeline and there are {len(timelines)}"
    else:
        try:
            data = _aaf_bytes(timelines[0])
        except Exception as exc:  # the AAF writer raises validation, adapter and type errors
            reason = _brief_aaf_error(exc)
        else:
            write_atomically(path, data)
            markers = _marker_total(timelines[0])
            notes = (
                (f"{path}: AAF keeps no markers, so the sequence's {markers} marker(s) are not in it "
                 "(they stay in the editor's own sequence)",) if markers else ()
            )
            return Written(path, notes)
    written = write_timelines(timelines, fallback)
    return Written(written.path, (f"{path}: not written, the AAF writer cannot take this timeline "
                                  f"({reason}); wrote {fallback} instead",))


def _aaf_bytes(timeline: otio.schema.Timeline) -> bytes:
    """The AAF file of `timeline`, made in a scratch folder (the AAF writer writes only to a path)."""
    with tempfile.TemporaryDirectory(prefix="foley-aaf-") as scratch:
        temp = Path(scratch) / "timeline.aaf"
        # Clips without an Avid mob ID (every Foley clip) get a new one.
        otio.adapters.write_to_file(timeline, str(temp), adapter_name="AAF", use_empty_mob_ids=True)
        return temp.read_bytes()


def _brief_aaf_error(exc: Exception) -> str:
    # A validation error lists every offending item, one per line: the first says enough.
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[0] if lines else type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _quiet(adapter: str) -> contextlib.AbstractContextManager:
    """Swallow what `adapter` prints on standard output (a deprecation notice), if it is one that does."""
    return contextlib.redirect_stdout(io.StringIO()) if adapter in _QUIET_ADAPTERS else contextlib.nullcontext()


def _fcpxml_time(rational_number: str | None, fps: float) -> otio.opentime.RationalTime:
    """An FCPXML time ("0s", "3600s", "41/10s") as whole frames at `fps`, computed exactly."""
    if rational_number is None or rational_number == "0s":
        return otio.opentime.RationalTime(0, int(fps))
    numerator, _, denominator = rational_number.removesuffix("s").partition("/")
    seconds = Fraction(numerator) / Fraction(denominator or 1)
    return otio.opentime.RationalTime(int(seconds * Fraction(fps)), int(fps))


@contextlib.contextmanager
def _exact_fcpxml_times() -> Iterator[None]:
    """While it lasts, the FCPXML reader converts times with `_fcpxml_time` instead of its own."""
    reader = otio.adapters.from_name("fcpx_xml").module()  # the module object OTIO itself loaded
    original = reader.to_rational_time
    reader.to_rational_time = _fcpxml_time
    try:
        yield
    finally:
        reader.to_rational_time = original


def _marker_total(timeline: otio.schema.Timeline) -> int:
    items = [timeline.tracks, *timeline.tracks.find_children(descended_from_type=otio.core.Item)]
    return sum(len(item.markers) for item in items)


def _reader_for(path: Path) -> str:
    if not path.exists():
        raise TimelineError(f"{path}: no such file")
    readers = readable_suffixes()
    adapter = readers.get(path.suffix.lower())
    if adapter is None:
        raise TimelineError(
            f"{path}: unknown timeline format {path.suffix or '(no suffix)'}; "
            f"supported: {', '.join(sorted(readers))}"
        )
    return adapter


def _read_error(path: Path, adapter: str, exc: Exception) -> TimelineError:
    message = str(exc)
    if isinstance(exc, otio.exceptions.UnsupportedSchemaError):
        return TimelineError(
            f"{path}: written with a newer OpenTimelineIO schema than the installed "
            f"opentimelineio {otio.__version__} reads ({_brief(exc)}); export it again "
            "for an older OTIO or upgrade opentimelineio"
        )
    if adapter == "cmx_3600" and "Frame rate mismatch" in message:
        return TimelineError(
            f"{path}: its timecodes do not fit the EDL frame rate used "
            f"({_brief(exc)}); give the EDL's frame rate with --rate (for example --rate 25)"
        )
    if adapter == "cmx_3600" and "duration don't match" in message:
        return TimelineError(
            f"{path}: an event's source and record durations differ ({_brief(exc)}); "
            "check the frame rate (--rate), or read it ignoring timecode mismatches "
            "(record times are then taken from the source times)"
        )
    return TimelineError(
        f"{path}: could not be read as {adapter}; the file may be corrupt or "
        f"truncated ({_brief(exc)}); export it from the editor again"
    )


def _brief(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if len(text) > 160:
        text = text[:157] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _timelines_in(result: otio.core.SerializableObject) -> list[otio.schema.Timeline]:
    if isinstance(result, otio.schema.Timeline):
        return [result]
    if isinstance(result, otio.schema.SerializableCollection):
        return list(result.find_children(descended_from_type=otio.schema.Timeline))
    return []


def _describe(result: otio.core.SerializableObject) -> str:
    if isinstance(result, otio.schema.SerializableCollection):
        kinds = sorted({type(child).__name__ for child in result})
        return f"{len(result)} items: {', '.join(kinds) or 'none'}"
    return type(result).__name__


def _remember_source(timelines: list[otio.schema.Timeline], path: Path, collection: str) -> None:
    for key in [key for key, (ref, *_) in _SOURCES.items() if ref() is None]:
        del _SOURCES[key]
    for timeline in timelines:
        _SOURCES[id(timeline)] = (weakref.ref(timeline), path.resolve(), collection)


def _source_of(timeline: otio.schema.Timeline) -> Path | None:
    entry = _SOURCES.get(id(timeline))
    if entry is None or entry[0]() is not timeline:
        return None
    return entry[1]


def _collection_name(timeline: otio.schema.Timeline) -> str:
    entry = _SOURCES.get(id(timeline))
    return entry[2] if entry is not None and entry[0]() is timeline else ""


def _same_file(a: Path, b: Path) -> bool:
    if a.exists() and b.exists():
        return os.path.samefile(a, b)
    return a.resolve() == b.resolve()


def _check_fcpxml_rates(path: Path) -> None:
    """Refuse FCPXML in a format the FCPXML reader would misread (NTSC rates, see _FCPXML_RATES)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        raise TimelineError(f"{path}: cannot be read ({error.strerror or error})") from None
    rates = {Fraction(int(den), int(num)) for num, den in _FCPXML_FRAME_DURATION.findall(text) if int(num)}
    unsupported = sorted(r for r in rates if r not in _FCPXML_RATES)
    if unsupported:
        shown = ", ".join(f"{float(r):.3f}" for r in unsupported)
        raise TimelineError(
            f"{path}: uses {shown} fps, which the FCPXML reader (otio-fcpx-xml-adapter) reads as a "
            "whole-number rate, so every clip and marker would land on the wrong frame; bring the "
            "project over another way (for example import the FCPXML into DaVinci Resolve and export "
            "the timeline as .otio)"
        )


def _disable_what_fcp_xml_disables(timeline: otio.schema.Timeline) -> None:
    """Disable the tracks and items whose FCP7 XML element says <enabled>FALSE</enabled>.

    otio-fcp-adapter 1.0.0 reads every track and clip as enabled, but keeps
    the element's own fields in metadata["fcp_xml"], `enabled` among them.
    """
    for item in timeline.tracks.find_children(descended_from_type=otio.core.Item):
        fields = item.metadata.get("fcp_xml")
        flag = fields.get("enabled") if isinstance(fields, Mapping) else None
        if isinstance(flag, str) and flag.strip().upper() == "FALSE":
            item.enabled = False


def _check_fits_edl(timeline: otio.schema.Timeline, path: Path) -> None:
    """Refuse timelines the EDL writer would cut short: it writes the first track only."""
    tracks = list(timeline.tracks)
    video = [t for t in tracks if t.kind == otio.schema.TrackKind.Video and t.enabled]
    others = [t for t in tracks[1:] if t.find_clips()]
    if len(video) != 1 or tracks[0] is not video[0] or others:
        raise TimelineError(
            f"{path}: an EDL holds one video track and this timeline has "
            f"{len(video)} video and {len(tracks) - len(video)} other tracks; "
            f"write it as {', '.join(_FOLEY_FORMATS)} instead"
        )


def _with_shared_file_ranges(timeline: otio.schema.Timeline) -> otio.schema.Timeline:
    """Return a copy in which all references to one media URL share one available range.

    The FCP7 XML writer emits one <file> per URL, timed from the first
    reference's range, but writes each clip's in-point relative to its own
    reference's range. Premiere exports several <file>s for one path with
    different timecodes, so without this the other clips would come back with
    shifted in-points. The shared range is the union of the references' ranges.
    """
    timeline = copy.deepcopy(timeline)
    by_url: dict[str, list[otio.schema.ExternalReference]] = {}
    for clip in timeline.find_clips():
        ref = clip.media_reference
        if isinstance(ref, otio.schema.ExternalReference) and ref.available_range is not None:
            by_url.setdefault(ref.target_url, []).append(ref)
    for refs in by_url.values():
        spans = [
            (to_seconds(r.available_range.start_time),
             to_seconds(r.available_range.end_time_exclusive()))
            for r in refs
        ]
        if len(set(spans)) == 1:
            continue
        rate = refs[0].available_range.start_time.rate
        start = min(s for s, _ in spans)
        end = max(e for _, e in spans)
        shared = otio.opentime.TimeRange(from_seconds(start, rate), from_seconds(end - start, rate))
        for ref in refs:
            ref.available_range = shared
    return timeline
