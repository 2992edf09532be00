"""The editor side starts fast in a thin environment: no engine, no torch."""

import subprocess
import sys

TIMELINE_MODULES = [
    "foley_plugin.errors",
    "foley_plugin.timeutil",
    "foley_plugin.timeline_io",
    "foley_plugin.media",
    "foley_plugin.retime",
    "foley_plugin.layout",
    "foley_plugin.markers",
    "foley_plugin.clips",
    "foley_plugin.foley_track",
]
FORBIDDEN = ["torch", "diffusers", "librosa", "foley_engine"]


def test_timeline_modules_import_no_engine_packages():
    code = (
        "import importlib, sys\n"
        f"for name in {TIMELINE_MODULES!r}: importlib.import_module(name)\n"
        f"print(sorted(m for m in {FORBIDDEN!r} if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
