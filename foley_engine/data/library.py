"""The sound library: every recording found, judged (licence, class), and cut into one-shots.

Nothing is decoded before it passes the licence and class checks, and every
recording is accounted for: the data card lists the excluded ones with why.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from ..audio_io import resample
from ..config import AUDIO
from ..errors import MediaError
from .copyright import read_copyright
from .debian import PackageRoot, source_candidates
from .licences import judge_licence
from .oneshots import cut_oneshots
from .recordings import Recording, decode_audio, find_recordings
from .taxonomy import classify

INCLUDED = "included"
EXCLUDED = "excluded"


@dataclass(frozen=True)
class LibraryEntry:
    """A recording and what the builder decided about it."""

    recording: Recording
    label: str | None
    licence: str
    copyleft: bool
    credit: str
    status: str
    reason: str = ""
    split: str = ""
    oneshots: int = 0


def survey(packages: Sequence[PackageRoot]) -> list[LibraryEntry]:
    """Every recording of the packages with its licence (from the package's copyright file) and class.

    Recordings whose licence is unknown or forbids training and
    redistributing weights, and recordings no class rule recognises, are
    marked excluded with the reason.
    """
    entries = []
    for package in packages:
        copyright_file = read_copyright(package.copyright_path)
        for recording in find_recordings(package):
            candidates = source_candidates(package.name, recording.installed_path)
            stanza = copyright_file.match(candidates)
            licence = stanza.licence if stanza else ""
            verdict = judge_licence(licence)
            parts = (stanza.copyright, stanza.source) if stanza else ()
            credit = "; ".join(part for part in (*parts, recording.note) if part)
            label = classify(recording.installed_path, recording.title)
            if stanza is None:
                status, reason = EXCLUDED, "no copyright stanza covers it"
            elif not verdict.allowed:
                status, reason = EXCLUDED, verdict.reason
            elif label is None:
                status, reason = EXCLUDED, "unclassified: no Foley class rule matches its name"
            else:
                status, reason = INCLUDED, ""
            entries.append(
                LibraryEntry(recording, label, licence or "unknown", verdict.copyleft, credit, status, reason)
            )
    return entries


def prepare(entry: LibraryEntry, max_seconds: float, max_events: int) -> tuple[LibraryEntry, list[np.ndarray]]:
    """Decode an included recording at the project's sample rate and cut its one-shots.

    An unreadable recording, or one without a clear transient, comes back excluded.
    """
    try:
        samples, sample_rate = decode_audio(entry.recording.read(), entry.recording.id)
    except MediaError as error:
        return _excluded(entry, f"unreadable: {error}"), []
    samples = resample(samples, sample_rate, AUDIO.sample_rate)
    oneshots = cut_oneshots(samples, AUDIO.sample_rate, max_seconds, max_events)
    if not oneshots:
        return _excluded(entry, "no clear transient to cut a one-shot from"), []
    return replace(entry, oneshots=len(oneshots)), oneshots


def _excluded(entry: LibraryEntry, reason: str) -> LibraryEntry:
    return replace(entry, status=EXCLUDED, reason=reason)


def prepare_all(
    entries: Sequence[LibraryEntry],
    max_seconds: float,
    max_events: int,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[LibraryEntry], dict[str, list[np.ndarray]]]:
    """`prepare` every included entry; returns all entries (updated) and {recording id: one-shots}."""
    updated: list[LibraryEntry] = []
    oneshots: dict[str, list[np.ndarray]] = {}
    todo = sum(entry.status == INCLUDED for entry in entries)
    done = 0
    for entry in entries:
        if entry.status != INCLUDED:
            updated.append(entry)
            continue
        entry, cuts = prepare(entry, max_seconds, max_events)
        updated.append(entry)
        if cuts:
            oneshots[entry.recording.id] = cuts
        done += 1
        if progress is not None:
            progress(done, todo)
    return updated, oneshots
