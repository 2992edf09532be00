"""Fixtures of the plugin tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.plugin.editor_samples import SAMPLES


@pytest.fixture
def samples() -> Path:
    """The folder of sample timelines; the test is skipped where it is absent."""
    if SAMPLES is None:
        pytest.skip("the OTIO sample timelines (shared/otio-samples) are not here")
    return SAMPLES
