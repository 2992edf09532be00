"""The sound classes of the training data and how a recording's name maps onto one.

Game and sample-library sounds are named after what makes them
(`default_wood_footstep.1.ogg`, `sound/doors/door1-close.ogg`, `perc_impact1`),
so a small ordered set of keyword rules over the parent folder and the file
name classifies them. The first rule that matches wins; rules that name no
class mark sounds that are not Foley one-shots (voices, music, UI tones,
sci-fi zaps) and keep a later rule from claiming them.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

CLASSES: tuple[str, ...] = (
    "footstep",
    "impact",
    "door",
    "glass",
    "explosion",
    "whoosh",
    "dig",
    "metal",
    "water",
    "drum",
    "click",
    "gunshot",
)

# Order matters: a wet footstep is a footstep, a glass door a door, a bullet
# hitting water is water, a kick drum's "boom" a drum, a rifle's reload a click.
_RULES: tuple[tuple[str | None, re.Pattern[str]], ...] = tuple(
    (label, re.compile(pattern))
    for label, pattern in (
        # Tones, voices and synthetic zaps: no physical contact to show.
        (None, r"\bhum\b|hum\d|\brub\b|drone|droning|choir|electric|electro|laser|plasma|\bptl\b|taser"),
        (None, r"psiattack|flyby|\bbass\b|guit|vinyl|robot|phone|glitch|jackhammer"),
        # A body falling to the ground, filed with the footsteps.
        ("impact", r"hitground"),
        ("footstep", r"footstep"),
        ("door", r"door|\bgate\b|fencegate|hatch|\bchest (open|close)\b"),
        ("glass", r"glass|shatter"),
        ("drum", r"\bbd\b|drum|snare|\bsn\b|kick|\btom\b|cymbal|cowbell|tabla"),
        ("explosion", r"explo|\bexp\b|boom"),
        ("water", r"water|splash|bubble|\bplop\b|\bdrip"),
        ("dig", r"\bdig|\bdug\b"),
        ("whoosh", r"whoosh|woosh|swoosh|swash|\bswing|\bsword fly\b|\bthrow\b"),
        ("metal", r"metal|steel|anvil|hammer|smithy|\bsword hit\b|clang"),
        ("impact", r"impact|crash|\bthud|\bplace node|\bbreaks?\b|breakwood|splat|bounce|\bdrop\b|knock|punch|slam"),
        ("click", r"reload"),
        ("gunshot", r"bullet|\bgun\b|pistol|rifle|shotgun|\bsmg\b|sniper|\bhmg\b|chaingun|cannon|launcher|bolter"),
        ("gunshot", r"needler|flechette|gauss"),
        ("click", r"click|\bsnap|\bpin\b|switch|\btick\b|button"),
    )
)


def naming_text(path: str, title: str = "") -> str:
    """What the rules read: `title` when given, else the parent folder and the file's stem.

    Separators become spaces and case is folded; a dotted take number
    (`default_break_glass.2.ogg`) is dropped with the extension.
    """
    if title:
        text = title
    else:
        pure = PurePosixPath(path)
        stem = pure.name.split(".")[0]
        text = f"{pure.parent.name} {stem}"
    return re.sub(r"[\s_\-./:()\"']+", " ", text.lower()).strip()


def classify(path: str, title: str = "") -> str | None:
    """The class of a recording from its path (or its title, for unnamed container entries); None if unknown."""
    text = naming_text(path, title)
    for label, pattern in _RULES:
        if pattern.search(text):
            return label
    return None
