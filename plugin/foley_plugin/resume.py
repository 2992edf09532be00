"""Clips finished by earlier runs, kept so that a run that stopped resumes where it stopped.

Each WAV a run finishes gets a record in its Foley media folder,
`.foley-finished/<input hash>.json`, written only once the WAV is complete on
disk. The input hash (`jobs.input_hash`) covers everything that makes the
clip's audio, so a later run that would ask the engine for the same audio
takes the WAV instead; anything that changes (seed, steps, cues, where the
cues come from (`--cues`), trim, media file, model, …) gives another hash, and
the clip is generated again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from .files import make_folder, write_atomically

RECORDS_FOLDER = ".foley-finished"


@dataclass(frozen=True)
class FinishedClip:
    """A WAV an earlier run finished, and the engine job that made it."""

    wav_path: Path
    job_id: str
    seed: int


class FinishedClips:
    """The records of the finished clips in one Foley media folder."""

    def __init__(self, media_folder: Path) -> None:
        self.media_folder = media_folder
        self._records = media_folder / RECORDS_FOLDER

    def find(self, key: str) -> FinishedClip | None:
        """The finished clip with input hash `key`, or None.

        None too when its record is unreadable or its WAV was since removed or
        changed (edited by hand, say): that clip is simply generated again.
        """
        try:
            record = json.loads((self._records / f"{key}.json").read_text(encoding="utf-8"))
            name, sha256, job_id, seed = record["wav"], record["sha256"], record["job_id"], int(record["seed"])
            # A record names a file in this folder, never a path that leads elsewhere.
            if Path(name).name != name:
                return None
            wav_path = self.media_folder / name
            if _sha256(wav_path) != sha256:
                return None
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return FinishedClip(wav_path=wav_path, job_id=job_id, seed=seed)

    def add(self, key: str, wav_path: Path, job_id: str, seed: int) -> None:
        """Record `wav_path`, complete on disk in the media folder, as the clip with input hash `key`."""
        make_folder(self._records)
        record = {"wav": wav_path.name, "sha256": _sha256(wav_path), "job_id": job_id, "seed": seed}
        write_atomically(self._records / f"{key}.json", json.dumps(record, indent=1).encode("utf-8"))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
