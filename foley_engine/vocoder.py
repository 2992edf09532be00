"""Griffin-Lim vocoder: normalised log mel → waveform, in torch so it runs on the GPU.

This is Diff-Foley's own vocoder. A neural vocoder can replace it as long as
it keeps the call signature: (B, n_mels, T) in [0, 1] → (B, T * hop) samples.
"""

from __future__ import annotations

import math

import torch
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config

from .config import AUDIO, AudioConfig
from .mel import denormalize_mel, mel_basis, stft_window


class GriffinLimVocoder(ModelMixin, ConfigMixin):
    """Mel → linear magnitude by a non-negative least-squares fit, then fast Griffin-Lim.

    Fast Griffin-Lim (Perraudin, Balazs & Søndergaard 2013) adds `momentum` to the
    classic phase iteration; the start phase is random but seeded from the
    config, so equal input gives equal output.
    """

    @register_to_config
    def __init__(
        self,
        n_iter: int = 32,
        momentum: float = 0.99,
        seed: int = 0,
        sample_rate: int = AUDIO.sample_rate,
        n_fft: int = AUDIO.n_fft,
        hop_length: int = AUDIO.hop_length,
        win_length: int = AUDIO.win_length,
        n_mels: int = AUDIO.n_mels,
        fmin: float = AUDIO.fmin,
        fmax: float = AUDIO.fmax,
        amin: float = AUDIO.amin,
        ref_db: float = AUDIO.ref_db,
        db_span: float = AUDIO.db_span,
    ) -> None:
        super().__init__()
        basis = mel_basis(self.audio_config)
        # The filter bank is saved with the weights so a checkpoint states which
        # mel scale it inverts; its pseudo-inverse is derived, so it is not saved.
        self.register_buffer("mel_basis", basis)
        self.register_buffer("inverse_basis", torch.linalg.pinv(basis), persistent=False)

    @property
    def audio_config(self) -> AudioConfig:
        """The STFT and mel settings this vocoder inverts."""
        c = self.config
        return AudioConfig(
            sample_rate=c.sample_rate,
            n_fft=c.n_fft,
            hop_length=c.hop_length,
            win_length=c.win_length,
            n_mels=c.n_mels,
            fmin=c.fmin,
            fmax=c.fmax,
            amin=c.amin,
            ref_db=c.ref_db,
            db_span=c.db_span,
        )

    def linear_magnitude(self, mel: torch.Tensor) -> torch.Tensor:
        """Normalised mel (B, n_mels, T) → linear STFT magnitude (B, n_fft // 2 + 1, T)."""
        linear_mel = denormalize_mel(mel.float(), self.audio_config)
        # Always float32: half precision cannot hold the 100 dB range Griffin-Lim works over.
        inverse = self.inverse_basis.to(linear_mel.device, torch.float32)
        return (inverse @ linear_mel).clamp_min(0.0)

    @torch.no_grad()
    def forward(self, mel: torch.Tensor, n_iter: int | None = None) -> torch.Tensor:
        """Normalised log mel (B, n_mels, T) → float32 waveform (B, T * hop_length)."""
        if mel.ndim != 3 or mel.shape[1] != self.config.n_mels:
            raise ValueError(f"expected a (batch, {self.config.n_mels}, frames) mel, got {tuple(mel.shape)}")
        n_iter = self.config.n_iter if n_iter is None else n_iter
        hop, frames = self.config.hop_length, mel.shape[-1]
        magnitude = self.linear_magnitude(mel)
        # The inverse STFT's zero-padded ends leave Griffin-Lim's phase inconsistent
        # there, heard as a blip in the first and last ~10 ms. Extending the magnitude
        # by copies of its end columns moves those ends off the output, which is cut
        # from the middle. One more column at the end stands for the STFT frame the
        # front end drops (it holds only padding). One FFT window of columns is enough.
        margin = math.ceil(self.config.n_fft / hop)
        magnitude = torch.cat(
            [magnitude[..., :1].expand(-1, -1, margin), magnitude, magnitude[..., -1:].expand(-1, -1, margin + 1)],
            dim=-1,
        )
        length = (frames + 2 * margin) * hop
        window = stft_window(self.audio_config, magnitude.device)
        stft_args = dict(
            n_fft=self.config.n_fft, hop_length=hop, win_length=self.config.win_length, window=window, center=True
        )

        # One start phase shared by every item: a mel sounds the same alone or in a batch.
        generator = torch.Generator().manual_seed(self.config.seed)
        phase = torch.rand(magnitude.shape[-2:], generator=generator).to(magnitude.device) * (2 * math.pi)
        phase = phase.expand_as(magnitude)
        angles = torch.polar(torch.ones_like(magnitude), phase)
        previous = torch.zeros_like(angles)
        blend = self.config.momentum / (1 + self.config.momentum)
        for _ in range(n_iter):
            waveform = torch.istft(magnitude * angles, length=length, **stft_args)
            rebuilt = torch.stft(waveform, pad_mode="constant", return_complex=True, **stft_args)
            angles = rebuilt - blend * previous
            angles = angles / (angles.abs() + 1e-16)
            previous = rebuilt
        waveform = torch.istft(magnitude * angles, length=length, **stft_args)
        return waveform[..., margin * hop : (margin + frames) * hop]
