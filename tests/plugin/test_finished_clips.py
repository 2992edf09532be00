"""The records of finished clips: a WAV is reused only while it is the one that was made."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from foley_plugin.resume import RECORDS_FOLDER, FinishedClip, FinishedClips
from foley_plugin.wav import write_wav

KEY = "ab" * 32


@pytest.fixture
def store(tmp_path: Path) -> FinishedClips:
    media = tmp_path / "cut.foley-media"
    media.mkdir()
    write_wav(media / "01-walk.wav", np.linspace(-1, 1, 480, dtype=np.float32), 48_000)
    finished = FinishedClips(media)
    finished.add(KEY, media / "01-walk.wav", "job-1", 7)
    return finished


def test_a_recorded_clip_is_found_by_its_key(store: FinishedClips) -> None:
    wav = store.media_folder / "01-walk.wav"
    assert store.find(KEY) == FinishedClip(wav_path=wav, job_id="job-1", seed=7)
    assert store.find("cd" * 32) is None


def test_a_wav_changed_or_removed_since_is_not_reused(store: FinishedClips) -> None:
    wav = store.media_folder / "01-walk.wav"
    wav.write_bytes(wav.read_bytes()[:-3] + b"\1\2\3")  # edited in a sound editor, say
    assert store.find(KEY) is None
    wav.unlink()
    assert store.find(KEY) is None


def test_a_damaged_record_or_one_naming_another_folder_is_ignored(store: FinishedClips, tmp_path: Path) -> None:
    record = store.media_folder / RECORDS_FOLDER / f"{KEY}.json"
    outside = tmp_path / "outside.wav"
    outside.write_bytes((store.media_folder / "01-walk.wav").read_bytes())
    fields = json.loads(record.read_text())
    record.write_text(json.dumps({**fields, "wav": "../outside.wav"}))
    assert store.find(KEY) is None
    record.write_text('{"wav": "01-walk.wav", "sha')
    assert store.find(KEY) is None
