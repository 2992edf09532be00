"""The synchronisation benchmark's table, and its `sync.json` / `sync.md` files."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .scoring import Row

COLUMNS = (
    ("condition", "name"),
    ("snap", "snapped"),
    ("clips", "clips"),
    ("onset acc", "onset_acc"),
    ("onset det acc", "onset_detection_acc"),
    ("onset AP", "onset_ap"),
    ("hit ±1f", "hit_rate_1f"),
    ("hit ±2f", "hit_rate_2f"),
    ("chance ±1f", "chance_hit_rate_1f"),
    ("chance ±2f", "chance_hit_rate_2f"),
    ("false/min", "false_onsets_per_min"),
    ("onsets/min", "onsets_per_min"),
    ("silent", "silent"),
    ("clipped", "clipped"),
    ("limited", "limited"),
)

LEGEND = (
    "onset acc / det acc / AP: CondFoleyGen's (librosa onsets at 22050 Hz, ±0.1 s), means over clips. "
    "hit ±Nf: share of cues with a precise onset within ±N video frames; chance: the same audio against "
    "another clip's cues; false/min: onsets farther than 2 frames from every cue, per minute. "
    "silent: RMS < -60 dBFS; clipped: peak >= 0.999; limited: outputs scaled down to a 0.98 peak because "
    "they went over full scale (the engine does this to every output)."
)


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def table(rows: Sequence[Row]) -> str:
    """The rows as a Markdown table (also readable as plain text)."""
    header = "| " + " | ".join(title for title, _ in COLUMNS) + " |"
    rule = "|" + "|".join("---" for _ in COLUMNS) + "|"
    lines = [header, rule]
    for row in rows:
        values = row.as_dict()
        lines.append("| " + " | ".join(_cell(values[key]) for _, key in COLUMNS) + " |")
    return "\n".join(lines)


def _timing_lines(detector: dict[str, dict[str, dict[str, float | int]]]) -> list[str]:
    lines = [
        "| material | detector | onsets | missed | median abs ms | p95 abs ms | median signed ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for material, by_detector in detector.items():
        for name, error in by_detector.items():
            lines.append(
                f"| {material} | {name} | {error['onsets']} | {error['missed']} | {_cell(error['median_ms'])} "
                f"| {_cell(error['p95_ms'])} | {_cell(error['bias_ms'])} |"
            )
    return lines


def _speed_lines(speed: dict[str, Any]) -> list[str]:
    mean, cold = speed["mean"], speed["cold"]
    stages = ("features_s", "diffusion_s", "decode_s", "vocoder_s", "total_s", "per_step_s")
    return [
        f"One {speed['window_s']} s window on {speed['device']}, {speed['steps']} steps, guidance "
        f"{speed['guidance_scale']}, temporal and semantic adapters both active; mean of {speed['runs']} run(s) "
        "after a first (cold) run:",
        "",
        "| | " + " | ".join(stage.removesuffix("_s").replace("_", " ") + " s" for stage in stages) + " |",
        "|---|" + "---|" * len(stages),
        "| mean | " + " | ".join(f"{mean[stage]:.3f}" for stage in stages) + " |",
        "| cold | " + " | ".join(f"{cold[stage]:.3f}" for stage in stages) + " |",
    ]


def markdown(report: dict[str, Any], rows: Sequence[Row]) -> str:
    """The whole report as Markdown: settings, the table, the detector's own error, speed and figures."""
    settings = report["settings"]
    lines = [
        "# Synchronisation benchmark",
        "",
        f"Model: {report['model']['name'] if report['model'] else 'none (reference chain only)'}; data: "
        f"{settings['data']} ({settings['split']} split, {report['clips']} paired clips, "
        f"{report['skipped_audio_only']} audio-only clips skipped); steps {settings['steps']}; "
        f"snap reach {settings['snap_reach_ms']} ms; seed {settings['seed']} + clip index.",
        "",
        table(rows),
        "",
        LEGEND,
        "",
        "## The detector's own error",
        "",
        *_timing_lines(report["detector_error"]),
    ]
    if report.get("speed"):
        lines += ["", "## Speed", "", *_speed_lines(report["speed"])]
    if report["figures"]:
        lines += ["", "## Figures", "", *(f"![{name}]({name})" for name in report["figures"])]
    return "\n".join(lines) + "\n"


def write_report(out: Path, report: dict[str, Any], rows: Sequence[Row]) -> tuple[Path, Path]:
    """Write `sync.json` and `sync.md` into `out`; returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / "sync.json"
    json_path.write_text(json.dumps(_finite(report), indent=2, allow_nan=False) + "\n")
    md_path = out / "sync.md"
    md_path.write_text(markdown(report, rows))
    return json_path, md_path


def _finite(value: Any) -> Any:
    # JSON has no NaN or infinity: an undefined figure (no cues, digital silence) is null.
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value
