"""The data card: where every recording came from, under which licence, and what it became.

Written twice into the dataset folder: `datacard.json` for tools and
`DATACARD.md` for people. Both are deterministic (no dates, no absolute
paths), so two builds with the same inputs write identical cards.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .copyright import read_copyright
from .debian import PackageRoot
from .library import INCLUDED, LibraryEntry
from .splits import SPLITS
from .taxonomy import CLASSES

POLICY = (
    "A recording is used only if the DEP-5 stanza of its package's copyright file that covers it names a "
    "known free licence allowing derivative works and commercial use (CC0, public domain, CC-BY, CC-BY-SA, "
    "MIT/Expat, BSD, GPL/LGPL, ...). Non-commercial, no-derivatives and unknown licences are excluded. "
    "Attribution licences (CC-BY*) require crediting the authors listed here with the weights; share-alike "
    "and GPL recordings (marked copyleft) may require sharing weights trained on them under the same terms."
)


def class_counts(entries: Sequence[LibraryEntry]) -> dict[str, dict[str, dict[str, int]]]:
    """{class: {"recordings"|"oneshots": {split: count}}} over the included recordings."""
    counts: dict[str, dict[str, dict[str, int]]] = {}
    for label in CLASSES:
        counts[label] = {"recordings": dict.fromkeys(SPLITS, 0), "oneshots": dict.fromkeys(SPLITS, 0)}
    for entry in entries:
        if entry.status == INCLUDED and entry.label is not None:
            counts[entry.label]["recordings"][entry.split] += 1
            counts[entry.label]["oneshots"][entry.split] += entry.oneshots
    return counts


def _recording(entry: LibraryEntry) -> dict[str, Any]:
    recording = entry.recording
    item: dict[str, Any] = {"id": recording.id, "package": recording.package, "path": recording.path}
    if recording.member:
        item["member"] = recording.member
    if recording.title:
        item["title"] = recording.title
    item.update({"class": entry.label, "licence": entry.licence, "copyleft": entry.copyleft, "credit": entry.credit})
    if entry.status == INCLUDED:
        item.update({"split": entry.split, "oneshots": entry.oneshots})
    else:
        item["reason"] = entry.reason
    return item


def card(packages: Sequence[PackageRoot], entries: Sequence[LibraryEntry], seed: int) -> dict[str, Any]:
    """The data card as a JSON-ready dictionary."""
    package_items = []
    for package in packages:
        copyright_file = read_copyright(package.copyright_path)
        package_items.append(
            {
                "name": package.name,
                "version": package.version,
                "upstream": copyright_file.upstream_name,
                "source": copyright_file.source,
                "copyright_file": f"usr/share/doc/{package.name}/copyright",
            }
        )
    licences: dict[str, dict[str, Any]] = defaultdict(lambda: {"recordings": 0, "copyleft": False})
    for entry in entries:
        if entry.status == INCLUDED:
            licences[entry.licence]["recordings"] += 1
            licences[entry.licence]["copyleft"] = entry.copyleft
    return {
        "seed": seed,
        "policy": POLICY,
        "packages": package_items,
        "classes": class_counts(entries),
        "licences": dict(sorted(licences.items())),
        "recordings": [_recording(entry) for entry in entries if entry.status == INCLUDED],
        "excluded": [_recording(entry) for entry in entries if entry.status != INCLUDED],
    }


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown(data: dict[str, Any]) -> str:
    """The human-readable DATACARD.md of a card from `card`."""
    lines = ["# Data card", "", "## Licence policy", "", data["policy"], "", "## Source packages", ""]
    lines += ["| package | version | upstream | source |", "| --- | --- | --- | --- |"]
    for package in data["packages"]:
        lines.append(
            f"| {package['name']} | {package['version']} | {_cell(package['upstream'])} | {_cell(package['source'])} |"
        )
    lines += ["", "## Classes (included recordings / one-shots per split)", ""]
    lines += ["| class | " + " | ".join(SPLITS) + " | total |", "| --- |" + " --- |" * (len(SPLITS) + 1)]
    for label, counts in data["classes"].items():
        cells = [f"{counts['recordings'][split]} / {counts['oneshots'][split]}" for split in SPLITS]
        total = f"{sum(counts['recordings'].values())} / {sum(counts['oneshots'].values())}"
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {total} |")
    lines += [
        "",
        "## Licences of the included recordings",
        "",
        "| licence | recordings | copyleft |",
        "| --- | --- | --- |",
    ]
    for licence, info in data["licences"].items():
        lines.append(f"| {licence} | {info['recordings']} | {'yes' if info['copyleft'] else 'no'} |")
    reasons = Counter(item["reason"].split(" '")[0] for item in data["excluded"])
    lines += ["", f"## Excluded ({len(data['excluded'])} recordings)", ""]
    lines += [f"- {count} × {reason}" for reason, count in sorted(reasons.items())]
    lines += ["", "| recording | class | licence | reason |", "| --- | --- | --- | --- |"]
    for item in data["excluded"]:
        lines.append(
            f"| {_cell(item['id'])} | {item['class'] or '—'} | {_cell(item['licence'])} | {_cell(item['reason'])} |"
        )
    lines += ["", f"## Included recordings ({len(data['recordings'])})", ""]
    lines += ["| recording | class | split | one-shots | licence | credit |", "| --- | --- | --- | --- | --- | --- |"]
    for item in data["recordings"]:
        name = item["id"] + (f" ({item['title']})" if "title" in item else "")
        lines.append(
            f"| {_cell(name)} | {item['class']} | {item['split']} | {item['oneshots']} | "
            f"{_cell(item['licence'])} | {_cell(item['credit'])} |"
        )
    return "\n".join(lines) + "\n"


def write_datacard(
    out: Path, packages: Sequence[PackageRoot], entries: Sequence[LibraryEntry], seed: int
) -> dict[str, Any]:
    """Write `datacard.json` and `DATACARD.md` into `out`; returns the card."""
    data = card(packages, entries, seed)
    out.mkdir(parents=True, exist_ok=True)
    (out / "datacard.json").write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / "DATACARD.md").write_text(markdown(data), encoding="utf-8")
    return data
