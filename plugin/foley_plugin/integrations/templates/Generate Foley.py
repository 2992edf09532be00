"""Generate Foley: Rhythmic Foley for the current DaVinci Resolve timeline.

Workspace > Scripts > Edit > Generate Foley. The script exports the current
timeline as OpenTimelineIO, runs `foley generate` on it in the Rhythmic Foley
environment (a separate process: Resolve's Python imports nothing of ours),
imports the generated WAVs into the media pool bin "Foley" and lays each one
on a new audio track "Foley" at the frame of the clip it was made for. Clips
that overlap on stacked video tracks get further tracks "Foley 2", ….
Progress and errors go to Resolve's console (Workspace > Console).

The files of a run stay in ~/Rhythmic Foley/<project>/<timeline>/: running the
script again generates only the clips whose picture, markers or settings
changed. FOLEY_ENGINE (an engine address) and FOLEY_ENGINE_TOKEN reach `foley`
from Resolve's environment; FOLEY_GENERATE_ARGS adds `foley generate` options
separated by spaces (for example "--steps 50 --snap").

Rhythmic Foley: installed by `foley install resolve`; `foley uninstall resolve` removes it.
Runs on the Python that Resolve uses for scripts (3.6 or later), standard library only.
"""

import builtins
import json
import os
import re
import subprocess
import sys
import time
from collections import deque

FOLEY_COMMAND = []  # written by `foley install resolve`
TRACK_NAME = "Foley"
BIN_NAME = "Foley"
WORK_FOLDER = os.path.join(os.path.expanduser("~"), "Rhythmic Foley")
# Progress bars redraw many times a second; the console gets one line per this many seconds.
PROGRESS_EVERY_S = 2.0
# A progress bar's meter, as in "2/25 [00:03<00:30,  1.2step/s]", and terminal cursor movements.
PROGRESS_METER = re.compile(r"\[\d+:\d\d(<[^,\]]*)?, [^\]]*\]")
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
TAIL_LINES = 12


class FoleyStopped(Exception):
    """A step that could not be done; the message says why and what to do."""


def say(text):
    """A line in Resolve's console."""
    print("Generate Foley: " + text)
    sys.stdout.flush()


def main():
    """Generate Foley for the current timeline, or say in the console why it could not."""
    try:
        generate_foley(resolve_app())
    except FoleyStopped as stopped:
        say("stopped. " + str(stopped))


def resolve_app():
    """The Resolve object: given to menu scripts, else reached through Resolve's scripting module."""
    scope = dict(vars(builtins))
    scope.update(globals())
    app = scope.get("resolve")
    if app is None and scope.get("bmd") is not None:
        app = scope["bmd"].scriptapp("Resolve")
    if app is None:
        try:
            import DaVinciResolveScript
        except ImportError:
            raise FoleyStopped(
                "Not connected to DaVinci Resolve: run this script from Workspace > Scripts > Edit > Generate Foley."
            )
        app = DaVinciResolveScript.scriptapp("Resolve")
    if app is None:
        raise FoleyStopped("DaVinci Resolve did not answer: start it, open a timeline and run the script from its menu.")
    return app


def generate_foley(app):
    """Export the current timeline, generate its Foley and place the WAVs on new audio tracks."""
    if not FOLEY_COMMAND:
        raise FoleyStopped(
            "This copy of the script does not know where Rhythmic Foley is installed: "
            "run `foley install resolve` in the Rhythmic Foley environment."
        )
    project = app.GetProjectManager().GetCurrentProject()
    if not project:
        raise FoleyStopped("No project is open: open a project and a timeline, then run Generate Foley again.")
    timeline = project.GetCurrentTimeline()
    if not timeline:
        raise FoleyStopped(
            "The project {!r} has no timeline open: open the timeline to score, then run Generate Foley again.".format(
                project.GetName()
            )
        )
    folder = work_folder(project.GetName(), timeline.GetName())
    exported = os.path.join(folder, "timeline.otio")
    export_timeline(app, timeline, exported)
    manifest = run_foley(exported, os.path.join(folder, "foley-manifest.json"))
    place_clips(project.GetMediaPool(), timeline, manifest)


def work_folder(project_name, timeline_name):
    """The folder that keeps this timeline's export, generated WAVs and records, created if needed."""
    folder = os.path.join(WORK_FOLDER, safe_name(project_name), safe_name(timeline_name))
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as error:
        raise FoleyStopped(
            "Cannot create the folder {} ({}): check that your home folder can be written.".format(folder, error.strerror)
        )
    return folder


def safe_name(name):
    """`name` as a folder name on every system."""
    cleaned = re.sub(r'[<>:"/\\|?*\x00-\x1f]', "_", name or "").strip(" .")
    return cleaned or "untitled"


def export_timeline(app, timeline, path):
    """Write `timeline` to `path` as OpenTimelineIO with Resolve's own exporter."""
    otio_type = getattr(app, "EXPORT_OTIO", None)
    if otio_type is None:
        raise FoleyStopped("This DaVinci Resolve cannot export OpenTimelineIO: Generate Foley needs Resolve 18.5 or later.")
    say("exporting the timeline {!r} to {}".format(timeline.GetName(), path))
    if os.path.exists(path):
        os.remove(path)  # the previous run's export: a failed export must not leave it to be read again
    if not timeline.Export(path, otio_type, getattr(app, "EXPORT_NONE", 0)) or not os.path.isfile(path):
        raise FoleyStopped(
            "Resolve could not export the timeline to {}: check that the folder can be written and that the "
            "timeline has clips, then try again.".format(path)
        )


def run_foley(timeline_path, manifest_path):
    """Run `foley generate` on the export, relay its progress, and return its manifest."""
    command = FOLEY_COMMAND + ["generate", timeline_path, "--manifest", manifest_path]
    command += os.environ.get("FOLEY_GENERATE_ARGS", "").split()
    say("running " + " ".join(command))
    if os.path.exists(manifest_path):
        os.remove(manifest_path)  # the previous run's: only this run's may be read
    try:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    except OSError as error:
        raise FoleyStopped(
            "Cannot start {} ({}): Rhythmic Foley was moved or removed; run `foley install resolve` "
            "again in its environment.".format(FOLEY_COMMAND[0], error.strerror)
        )
    tail = relay(process.stdout)
    status = process.wait()
    # 3: some clips were skipped for missing media; the others are done and in the manifest.
    if status not in (0, 3) or not os.path.isfile(manifest_path):
        raise FoleyStopped(
            "foley generate failed (exit status {}). Its last lines:\n{}".format(status, "\n".join(tail))
        )
    if status == 3:
        say("some clips were skipped because their media could not be found (see above); the others are placed")
    with open(manifest_path, encoding="utf-8") as stream:
        return json.load(stream)


def relay(stream):
    """Print the child's output to the console as it comes; return its last lines (progress bars left out).

    Progress bars redraw many times a second: one redraw in PROGRESS_EVERY_S
    seconds is shown, without the terminal's cursor movements.
    """
    tail = deque(maxlen=TAIL_LINES)
    pending = b""
    last_progress = 0.0
    read = getattr(stream, "read1", stream.read)
    while True:
        chunk = read(65536)
        if not chunk:
            break
        pieces = re.split(b"[\r\n]", pending + chunk)
        pending = pieces.pop()
        for piece in pieces:
            line = ANSI_ESCAPE.sub("", piece.decode("utf-8", "replace")).rstrip()
            if not line:
                continue
            if not PROGRESS_METER.search(line):
                tail.append(line)
                say(line)
            elif time.monotonic() - last_progress >= PROGRESS_EVERY_S:
                last_progress = time.monotonic()
                say(line)
    line = ANSI_ESCAPE.sub("", pending.decode("utf-8", "replace")).rstrip()
    if line:
        tail.append(line)
        say(line)
    return tail


def place_clips(media_pool, timeline, manifest):
    """Import the manifest's WAVs and lay each at its record frame on a new "Foley" audio track."""
    clips = manifest.get("clips") or []
    if not clips:
        say("no clip was scored, so there is nothing to place")
        return
    items = import_wavs(media_pool, [clip["wav"] for clip in clips])
    names = {lane: TRACK_NAME if lane == 1 else "{} {}".format(TRACK_NAME, lane) for lane in {c["lane"] for c in clips}}
    tracks = {lane: add_audio_track(timeline, names[lane]) for lane in sorted(names)}
    # Resolve counts record frames from frame 0 of its clock, so a timeline starting
    # at 01:00:00:00 adds its start frame; the manifest counts from the timeline's start.
    start = timeline.GetStartFrame()
    refused = []
    for clip in clips:
        info = {
            "mediaPoolItem": items[path_key(clip["wav"])],
            "startFrame": 0,
            "endFrame": clip["duration_frames"] - 1,
            "recordFrame": start + clip["record_frame"],
            "trackIndex": tracks[clip["lane"]],
            "mediaType": 2,
        }
        if not media_pool.AppendToTimeline([info]):
            refused.append("{} at frame {}".format(clip["name"], info["recordFrame"]))
    where = ", ".join("audio track {} {!r}".format(tracks[lane], names[lane]) for lane in sorted(tracks))
    say("placed {} Foley clip(s) on {}".format(len(clips) - len(refused), where))
    if refused:
        raise FoleyStopped(
            "Resolve refused to place {} clip(s): {}. Their WAVs are in the media pool bin {!r}: "
            "drag them onto the timeline by hand.".format(len(refused), "; ".join(refused), BIN_NAME)
        )


def import_wavs(media_pool, paths):
    """The media pool items of `paths`, imported into the bin "Foley" unless they are there already."""
    root = media_pool.GetRootFolder()
    folder = next((sub for sub in (root.GetSubFolderList() or []) if sub.GetName() == BIN_NAME), None)
    if folder is None:
        folder = media_pool.AddSubFolder(root, BIN_NAME)
    if not folder:
        raise FoleyStopped("Resolve could not create the media pool bin {!r}.".format(BIN_NAME))
    items = {path_key(item.GetClipProperty("File Path")): item for item in (folder.GetClipList() or [])}
    new = sorted({path for path in paths if path_key(path) not in items})
    if new:
        previous = media_pool.GetCurrentFolder()
        media_pool.SetCurrentFolder(folder)  # ImportMedia imports into the current folder
        try:
            say("importing {} WAV file(s) into the media pool bin {!r}".format(len(new), BIN_NAME))
            for item in media_pool.ImportMedia(new) or []:
                items[path_key(item.GetClipProperty("File Path"))] = item
        finally:
            if previous:
                media_pool.SetCurrentFolder(previous)
    missing = [path for path in paths if path_key(path) not in items]
    if missing:
        raise FoleyStopped(
            "Resolve could not import {} WAV file(s): {}. Check that they can be read, then run Generate Foley "
            "again (finished clips are not generated twice).".format(len(missing), ", ".join(missing))
        )
    return items


def path_key(path):
    """A file path as Resolve and the manifest may spell it differently (case on Windows, separators)."""
    return os.path.normcase(os.path.normpath(path or ""))


def add_audio_track(timeline, name):
    """Add a mono audio track named `name` after the others; its 1-based index."""
    if not timeline.AddTrack("audio", "mono"):
        raise FoleyStopped("Resolve could not add an audio track to the timeline {!r}.".format(timeline.GetName()))
    index = timeline.GetTrackCount("audio")
    if not timeline.SetTrackName("audio", index, name):
        say("could not name audio track {} {!r}; the Foley clips go on it anyway".format(index, name))
    return index


main()
