"""Reading a Debian machine-readable copyright file (DEP-5) and finding a file's stanza.

Only what the data card needs is kept: each `Files:` stanza's patterns,
licence short name, copyright holders and optional `Source:`. Patterns follow
DEP-5: `*` matches any run of characters including `/`, `?` one character,
and the last stanza that matches a file wins.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class FilesStanza:
    """One `Files:` paragraph."""

    patterns: tuple[str, ...]
    licence: str
    copyright: str
    source: str = ""


@dataclass(frozen=True)
class CopyrightFile:
    """A parsed copyright file: its header and its `Files:` stanzas in file order."""

    upstream_name: str
    source: str
    stanzas: tuple[FilesStanza, ...]

    def match(self, candidates: Iterable[str]) -> FilesStanza | None:
        """The stanza that governs a file known by any of the `candidates` paths.

        A stanza applies when one of its patterns matches one of the paths;
        of those, the last in the file wins, as DEP-5 prescribes.
        """
        paths = list(candidates)
        for stanza in reversed(self.stanzas):
            if any(_compile(pattern).fullmatch(path) for pattern in stanza.patterns for path in paths):
                return stanza
        return None


_PATTERNS: dict[str, re.Pattern[str]] = {}


def _compile(pattern: str) -> re.Pattern[str]:
    compiled = _PATTERNS.get(pattern)
    if compiled is None:
        parts: list[str] = []
        escaped = False
        for char in pattern:
            if escaped:
                parts.append(re.escape(char))
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == "*":
                parts.append(".*")
            elif char == "?":
                parts.append(".")
            else:
                parts.append(re.escape(char))
        compiled = _PATTERNS[pattern] = re.compile("".join(parts), re.DOTALL)
    return compiled


def _paragraphs(text: str) -> list[dict[str, list[str]]]:
    """Paragraphs as {lower-case field: [first line, continuation lines...]}."""
    paragraphs: list[dict[str, list[str]]] = []
    fields: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if not line.strip():
            if fields:
                paragraphs.append(fields)
            fields, current = {}, None
        elif line[0] in " \t":
            if current is not None:
                current.append(line.strip())
        elif ":" in line:
            name, value = line.split(":", 1)
            current = fields.setdefault(name.strip().lower(), [])
            current.append(value.strip())
    if fields:
        paragraphs.append(fields)
    return paragraphs


def _holders(lines: list[str]) -> str:
    return "; ".join(line for line in lines if line and line != ".")


def parse_copyright(text: str) -> CopyrightFile:
    """Parse the text of a DEP-5 copyright file.

    Stand-alone `License:` paragraphs (full licence texts) are skipped; a
    file that is not in DEP-5 format yields no stanzas, so every file it
    should cover is later judged as having an unknown licence.
    """
    paragraphs = _paragraphs(text)
    header = paragraphs[0] if paragraphs and "files" not in paragraphs[0] else {}
    stanzas = []
    for fields in paragraphs:
        if "files" not in fields:
            continue
        patterns = tuple(" ".join(fields["files"]).split())
        licence_lines = fields.get("license", [""])
        stanzas.append(
            FilesStanza(
                patterns=patterns,
                licence=licence_lines[0],
                copyright=_holders(fields.get("copyright", [])),
                source=" ".join(part for part in fields.get("source", []) if part),
            )
        )
    return CopyrightFile(
        upstream_name=" ".join(header.get("upstream-name", [])),
        source=" ".join(header.get("source", [])),
        stanzas=tuple(stanzas),
    )


def read_copyright(path: Path) -> CopyrightFile:
    """Parse the copyright file at `path` (UTF-8, undecodable bytes replaced)."""
    return parse_copyright(path.read_text(encoding="utf-8", errors="replace"))
