import subprocess
import sys
from pathlib import Path

import pytest

from foley_engine.data.__main__ import main


def test_build_command_writes_a_dataset(recordings_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "out"
    args = ["build", "--out", str(out), "--seed", "3", "--paired", "1", "--audio-only", "2"]
    assert main([*args, "--recordings-dir", str(recordings_dir), "--workers", "1"]) == 0
    printed = capsys.readouterr().out
    assert "train: 1 paired, 2 audio" in printed and "footstep" in printed
    assert (out / "DATACARD.md").is_file() and (out / "train" / "clips.jsonl").is_file()


def test_build_command_reports_a_missing_folder(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["build", "--out", str(tmp_path), "--recordings-dir", str(tmp_path / "nothing")]) == 1
    assert "no such folder" in capsys.readouterr().err


def test_the_builder_imports_neither_grpc_nor_otio() -> None:
    code = (
        "import sys, foley_engine.data.__main__; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('grpc', 'opentimelineio')))"
    )
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root)
    assert result.stdout.strip() == "[]"
