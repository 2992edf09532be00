"""No loss on real editor timelines: whatever stops a run, the editor's file stays as it was.

Every sample timeline is run against a real engine that fails at a clip drawn
at random (seeded by the sample's name): the run exits non-zero naming that
clip, the input's bytes and modification time are unchanged, and no output
timeline (nor a temporary file of one) exists. Samples OTIO cannot read, or
with nothing to score, fail before any job, with the same guarantees.

`pytest -s` prints a line of figures per sample.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from foley_plugin.clips import select_clips
from foley_plugin.timeline_io import read_timeline
from foley_plugin.timeutil import to_seconds
from tests.plugin.test_editor_samples import EDL_OPTIONS, READABLE, UNREADABLE

from ..conftest import ServerThread
from .plugin_runs import FileState, ScriptedEngine, files_below, run_in_process, standin_media

STEPS = ["--steps", "1"]
# The failing clip is drawn among the first few, with at most this much audio
# made before it, so that the ~50 samples take a few minutes on a CPU.
MAX_FAIL_AT = 4
MAX_SECONDS_BEFORE = 30.0


@pytest.fixture
def show(request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]):
    """Print a line of figures where `pytest -s` shows it (run_in_process captures the rest)."""

    def print_line(line: str) -> None:
        if request.config.getoption("capture") == "no":
            with capsys.disabled():
                print(line)

    return print_line


def failing_clip(sample: str, durations: list[float]) -> int:
    """The clip (from 1) at which the engine fails for `sample`: random, but the same every run."""
    eligible = [
        k for k in range(1, min(len(durations), MAX_FAIL_AT) + 1) if sum(durations[: k - 1]) <= MAX_SECONDS_BEFORE
    ]
    return random.Random(f"no-loss:{sample}").choice(eligible)


def edl_flags(sample: str) -> list[str]:
    options = EDL_OPTIONS.get(Path(sample).name, {})
    flags = ["--rate", str(options["rate"])] if "rate" in options else []
    return flags + (["--ignore-timecode-mismatch"] if options.get("ignore_timecode_mismatch") else [])


def assert_nothing_written(output: Path) -> None:
    """No output timeline, no temporary file beside it: at most the media folder of finished clips."""
    leftovers = files_below(output.parent)
    assert not output.exists()
    assert not [p for p in leftovers if p.endswith(".tmp") or p.startswith(".")], leftovers
    assert {p.split("/")[0] for p in leftovers} <= {output.name.split(".")[0] + ".foley-media"}, leftovers


@pytest.mark.slow
@pytest.mark.parametrize("sample", READABLE)
def test_an_engine_failure_at_a_random_clip_loses_nothing(
    sample: str, samples: Path, scripted_server: ServerThread, scripted: ScriptedEngine, tmp_path: Path, capsys, show
) -> None:
    source = samples / sample
    before = FileState.of(source)
    timeline = read_timeline(source, **EDL_OPTIONS.get(Path(sample).name, {}))
    media = standin_media(timeline, tmp_path / "media")
    windows = [w for w in select_clips(timeline, media_roots=[media], timeline_path=source) if w.media.path is not None]
    fail_at = failing_clip(sample, [float(to_seconds(w.duration)) for w in windows]) if windows else None
    scripted.reset(fail_at=fail_at)
    output = tmp_path / "out" / "result.otio"
    output.parent.mkdir()

    status, err = run_in_process(
        capsys, "generate", source, "-o", output, "--engine", scripted_server.address,
        "--media-root", media, *STEPS, *edl_flags(sample),
    )

    unchanged = FileState.of(source) == before
    failed = f"clip {fail_at}" if fail_at else "- (nothing to score)"
    show(f"no-loss {sample:46} clips={len(windows):3}  failed at {failed:20} exit={status}  input bytes unchanged={unchanged}")
    assert status == 1 and "Traceback" not in err
    assert unchanged
    assert_nothing_written(output)
    if fail_at is None:
        assert f"{source}: no video clip with readable media to score" in err
        assert scripted.requests == []
        return
    assert f"clip {fail_at} of {len(windows)} {windows[fail_at - 1].name!r}" in err
    assert "No timeline was written" in err
    assert len(scripted.requests) == fail_at
    assert len(list((output.parent / "result.foley-media").glob("*.wav"))) == fail_at - 1


@pytest.mark.parametrize("sample", sorted(UNREADABLE))
def test_a_timeline_otio_cannot_read_loses_nothing(
    sample: str, samples: Path, scripted_server: ServerThread, scripted: ScriptedEngine, tmp_path: Path, capsys, show
) -> None:
    source = samples / sample
    before = FileState.of(source)
    output = tmp_path / "result.otio"
    status, err = run_in_process(capsys, "generate", source, "-o", output, "--engine", scripted_server.address)
    unchanged = FileState.of(source) == before
    show(f"no-loss {sample:46} not read by OTIO ({UNREADABLE[sample]})  exit={status}  input bytes unchanged={unchanged}")
    assert status == 1 and f"foley: {source}: " in err and "Traceback" not in err
    assert unchanged and scripted.requests == []
    assert files_below(tmp_path) == []
