"""The CAVP and denoising losses."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from foley_engine.presets import diffusion_scheduler
from foley_engine.training.cavp import contrastive_losses
from foley_engine.training.components import training_scheduler
from foley_engine.training.diffusion import DenoisingLoss, drop_features


def test_contrastive_losses_reward_matching_clips_and_steps() -> None:
    torch.manual_seed(0)
    video = F.normalize(torch.randn(4, 32, 64), dim=-1)
    scale = torch.tensor(20.0)
    matched = contrastive_losses(video, video, scale)
    shuffled = contrastive_losses(video, video[torch.tensor([1, 2, 3, 0])][:, torch.randperm(32)], scale)
    assert matched[0] < shuffled[0]
    assert matched[1] < shuffled[1]


def test_min_snr_weighting_for_epsilon_prediction() -> None:
    scheduler = training_scheduler(diffusion_scheduler())
    loss = DenoisingLoss(scheduler, "epsilon", snr_gamma=5.0)
    seen: list[torch.Tensor] = []

    def off_by_one(noisy: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        # The latents are zero, so the noise is noisy / sqrt(1 - alpha_bar): every example errs by exactly 1.
        seen.append(t)
        return noisy / (1 - scheduler.alphas_cumprod[t]).sqrt().view(-1, 1, 1, 1) + 1

    weighted = loss(off_by_one, torch.zeros(256, 4, 2, 2), torch.Generator().manual_seed(0))
    alpha_bar = scheduler.alphas_cumprod[seen[0]]
    snr = alpha_bar / (1 - alpha_bar)
    expected = (snr.clamp(max=5.0) / snr).mean()
    torch.testing.assert_close(weighted, expected, rtol=1e-4, atol=1e-5)
    # Noisy timesteps (SNR below γ) keep their full weight; only clean ones are scaled down.
    assert expected < 1.0 and (snr < 5).any()


def test_dropped_features_are_exactly_zero() -> None:
    torch.manual_seed(0)
    features = torch.ones(1000, 2, 3)
    dropped = drop_features(features, 0.1)
    zero_rows = (dropped.flatten(1) == 0).all(dim=1)
    kept_rows = (dropped.flatten(1) == 1).all(dim=1)
    assert bool((zero_rows | kept_rows).all())
    assert 0.05 < zero_rows.float().mean().item() < 0.15
