"""Fixtures of the conversion tests: fake Diff-Foley checkpoints at the tiny configuration."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from foley_engine.conversion.cavp import ConvertedCavp, convert_cavp
from foley_engine.conversion.ldm import ConvertedLdm, convert_ldm
from foley_engine.diff_foley import TINY_DIFF_FOLEY

from .original_layout import cavp_shapes, ldm_shapes, random_state_dict, save_checkpoint


@pytest.fixture(scope="session")
def ldm_state() -> dict[str, torch.Tensor]:
    """A random LDM state dict with the original names, at the tiny configuration."""
    return random_state_dict(ldm_shapes(TINY_DIFF_FOLEY), seed=1, config=TINY_DIFF_FOLEY)


@pytest.fixture(scope="session")
def cavp_state() -> dict[str, torch.Tensor]:
    """A random CAVP state dict with the original names, at the tiny configuration."""
    return random_state_dict(cavp_shapes(TINY_DIFF_FOLEY), seed=2)


@pytest.fixture(scope="session")
def converted_ldm(ldm_state: dict[str, torch.Tensor]) -> ConvertedLdm:
    return convert_ldm(ldm_state, TINY_DIFF_FOLEY)


@pytest.fixture(scope="session")
def converted_cavp(cavp_state: dict[str, torch.Tensor]) -> ConvertedCavp:
    return convert_cavp(cavp_state, TINY_DIFF_FOLEY)


@pytest.fixture(scope="session")
def checkpoints(
    tmp_path_factory: pytest.TempPathFactory, ldm_state: dict[str, torch.Tensor], cavp_state: dict[str, torch.Tensor]
) -> tuple[Path, Path]:
    """The tiny LDM and CAVP checkpoints as files, Lightning-style, CAVP keys with DataParallel's prefix."""
    folder = tmp_path_factory.mktemp("checkpoints")
    ldm = save_checkpoint(folder / "ldm_epoch240.ckpt", ldm_state, optimizer_states=[{"lr": 1e-4}])
    cavp = save_checkpoint(folder / "cavp_epoch66.ckpt", {f"module.{k}": v for k, v in cavp_state.items()})
    return ldm, cavp
