"""The Rhythmic Foley diffusion pipeline: video features + onset/span masks → audio.

A latent diffusion model over mel spectrograms (Diff-Foley) steered by two
ControlNet adapters: a temporal one conditioned on an onset mask and a
semantic one conditioned on an event-span mask.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from diffusers import (
    AutoencoderKL,
    ControlNetModel,
    DiffusionPipeline,
    DPMSolverMultistepScheduler,
    UNet2DConditionModel,
)
from diffusers.utils import BaseOutput
from diffusers.utils.torch_utils import randn_tensor

# diffusers' from_pretrained builds a custom component only from a module that is
# already imported; importing both video towers here lets it read either kind of directory,
# and the event detector module lets it read a pipeline that has one.
from . import cavp, event_detector, video_encoder  # noqa: F401
from .config import AUDIO
from .errors import Cancelled
from .projector import FeatureProjector
from .semantic_projector import SemanticProjector
from .video_tower import VideoTower
from .vocoder import GriffinLimVocoder

MEL_LAYOUTS = ("fold", "repeat")
# The components that may run in half precision; the vocoder always runs in float32.
NETWORKS = (
    "video_encoder",
    "feature_projector",
    "semantic_projector",
    "event_detector",
    "temporal_adapter",
    "semantic_adapter",
    "unet",
    "vae",
)
# The components made of 2-D convolutions, which channels-last memory speeds up on GPUs.
IMAGE_NETWORKS = ("temporal_adapter", "semantic_adapter", "unet", "vae")


@dataclass
class RhythmicFoleyPipelineOutput(BaseOutput):
    """What the pipeline returns.

    audios: (B, window_samples) float32 waveforms, or None for output_type "mel".
    mels: (B, n_mels, window_frames) normalised log-mel spectrograms in [0, 1].
    Numpy arrays for output_type "np", torch tensors otherwise.
    """

    audios: np.ndarray | torch.Tensor | None
    mels: np.ndarray | torch.Tensor


MaskLike = torch.Tensor | np.ndarray


class RhythmicFoleyPipeline(DiffusionPipeline):
    """Generate one window of Foley audio from video features, steered by onset and span masks.

    Components:
        vae: encodes the (reshaped) mel spectrogram into the diffusion latent and back.
        unet: the frozen base denoiser, cross-attending to the projected video features.
        temporal_adapter: ControlNet conditioned on the onset mask (1 on frames where a
            transient must start).
        semantic_adapter: ControlNet conditioned on the event-span mask.
        scheduler: DPM-Solver++ (2M) by default.
        vocoder: mel → waveform.
        video_encoder: sampled frames → per-frame features (B, T, 512); any `VideoTower`
            (the small default encoder or CAVP's SlowOnly-50).
        feature_projector: features → cross-attention context, and the null context for
            classifier-free guidance.
        semantic_projector (optional): sound-event text embeddings → extra context tokens
            for the semantic adapter; without it the semantic adapter sees the video
            context alone.
        event_detector (optional): the video event and onset detector the engine runs
            on clips without markers; the diffusion itself never calls it.

    Config values:
        mel_layout: how the (128, T) mel becomes the VAE's image. "fold" reshapes the
            mel bins into the VAE's input channels (C, 128 / C, T), keeping every time
            frame; "repeat" copies the mel into all channels (Diff-Foley's SD VAE) and
            reads channel 0 back.
        latent_scale: the factor the VAE latents are multiplied by for diffusion.
        model_name, trained, temporal_adapter_trained, semantic_adapter_trained: what the
            checkpoint is, so a server can tell users when they hear random weights.
    """

    model_cpu_offload_seq = (
        "video_encoder->feature_projector->semantic_projector->temporal_adapter->semantic_adapter->unet->vae->vocoder"
    )
    _optional_components = ["semantic_projector", "event_detector"]
    _exclude_from_cpu_offload = ["event_detector"]
    _callback_tensor_inputs = ["latents", "context"]

    def __init__(
        self,
        vae: AutoencoderKL,
        unet: UNet2DConditionModel,
        temporal_adapter: ControlNetModel,
        semantic_adapter: ControlNetModel,
        scheduler: DPMSolverMultistepScheduler,
        vocoder: GriffinLimVocoder,
        video_encoder: VideoTower,
        feature_projector: FeatureProjector,
        semantic_projector: SemanticProjector | None = None,
        event_detector: nn.Module | None = None,
        mel_layout: str = "fold",
        latent_scale: float = 0.18215,
        model_name: str = "untrained",
        trained: bool = False,
        temporal_adapter_trained: bool = False,
        semantic_adapter_trained: bool = False,
    ) -> None:
        super().__init__()
        if mel_layout not in MEL_LAYOUTS:
            raise ValueError(f"mel_layout must be one of {MEL_LAYOUTS}, got {mel_layout!r}")
        if mel_layout == "fold" and AUDIO.n_mels % vae.config.in_channels:
            raise ValueError(f"cannot fold {AUDIO.n_mels} mel bins into {vae.config.in_channels} VAE channels")
        self.register_modules(
            vae=vae,
            unet=unet,
            temporal_adapter=temporal_adapter,
            semantic_adapter=semantic_adapter,
            scheduler=scheduler,
            vocoder=vocoder,
            video_encoder=video_encoder,
            feature_projector=feature_projector,
            semantic_projector=semantic_projector,
            event_detector=event_detector,
        )
        self.register_to_config(
            mel_layout=mel_layout,
            latent_scale=latent_scale,
            model_name=model_name,
            trained=trained,
            temporal_adapter_trained=temporal_adapter_trained,
            semantic_adapter_trained=semantic_adapter_trained,
        )
        self._interrupt = False

    @property
    def vae_scale_factor(self) -> int:
        """How many mel rows and frames one latent cell covers."""
        return 2 ** (len(self.vae.config.block_out_channels) - 1)

    @property
    def edge_columns(self) -> int:
        """Latent columns added at each end of the window when denoising with `edge_margin`:
        half the UNet's downsampling, so the wider latent still divides evenly."""
        return max(1, 2 ** (len(self.unet.config.block_out_channels) - 1) // 2)

    @property
    def latent_shape(self) -> tuple[int, int, int]:
        """(channels, height, width) of one window's diffusion latent."""
        rows = AUDIO.n_mels // self.vae.config.in_channels if self.config.mel_layout == "fold" else AUDIO.n_mels
        factor = self.vae_scale_factor
        return self.vae.config.latent_channels, rows // factor, AUDIO.window_frames // factor

    def set_compute_dtype(self, dtype: torch.dtype) -> None:
        """Run the networks in `dtype` (float16 or bfloat16 on a GPU halves memory and
        time). The vocoder, the scheduler's update and the mel conversions stay float32:
        Griffin-Lim spans a 100 dB range and the sampler accumulates small steps."""
        for name in NETWORKS:
            if getattr(self, name) is not None:
                # nn.Module.to, not ModelMixin.to: the latter warns on every dtype cast, even
                # for models with no float32-only modules (none of ours has any).
                torch.nn.Module.to(getattr(self, name), dtype=dtype)

    def use_channels_last(self) -> None:
        """Store the 2-D convolution networks channels-last (faster convolutions on tensor-core GPUs)."""
        for name in IMAGE_NETWORKS:
            if getattr(self, name) is not None:
                getattr(self, name).to(memory_format=torch.channels_last)

    @property
    def interrupt(self) -> bool:
        """Set `self._interrupt = True` from `callback_on_step_end` to cancel the run."""
        return self._interrupt

    def mel_to_image(self, mel: torch.Tensor) -> torch.Tensor:
        """Normalised mel (B, n_mels, T) in [0, 1] → VAE input (B, C, H, T) in [-1, 1]."""
        image = mel.unsqueeze(1) * 2.0 - 1.0
        channels = self.vae.config.in_channels
        if self.config.mel_layout == "fold":
            return image.reshape(mel.shape[0], channels, mel.shape[1] // channels, mel.shape[2])
        return image.repeat(1, channels, 1, 1)

    def image_to_mel(self, image: torch.Tensor) -> torch.Tensor:
        """VAE output (B, C, H, T) → normalised mel (B, n_mels, T) in [0, 1]."""
        if self.config.mel_layout == "fold":
            mel = image.reshape(image.shape[0], -1, image.shape[-1])
        else:
            mel = image[:, 0]
        return ((mel + 1.0) / 2.0).clamp(0.0, 1.0)

    def encode_mel(self, mel: torch.Tensor) -> torch.Tensor:
        """Normalised mel (B, n_mels, T) → scaled diffusion latent (the VAE posterior's mode)."""
        image = self.mel_to_image(mel.to(self._execution_device, self.vae.dtype))
        return self.vae.encode(image).latent_dist.mode() * self.config.latent_scale

    def decode_latents(self, latents: torch.Tensor) -> torch.Tensor:
        """Scaled diffusion latent → normalised mel (B, n_mels, T)."""
        image = self.vae.decode(latents.to(self.vae.dtype) / self.config.latent_scale).sample
        return self.image_to_mel(image.float())

    @torch.no_grad()
    def encode_frames(self, frames: np.ndarray | torch.Tensor) -> torch.Tensor:
        """Video frames (B, T, H, W, 3) uint8 → features (B, T, feature_dim) from `video_encoder`."""
        frames = torch.as_tensor(frames, device=self._execution_device)
        pixels = frames.permute(0, 1, 4, 2, 3).to(self.video_encoder.dtype) / 255.0
        return self.video_encoder(pixels)

    def conditioning_image(self, adapter: ControlNetModel, mask: torch.Tensor, latents: torch.Tensor) -> torch.Tensor:
        """A (B, window_frames) frame mask as the adapter's (B, 1, H, W) conditioning image.

        The mask is constant over the mel rows. Its time axis is resized to the
        latent width times the adapter's embedding downsampling; shrinking takes
        the maximum, so a one-frame onset never vanishes between two columns.
        """
        factor = 2 ** (len(adapter.config.conditioning_embedding_out_channels) - 1)
        height, width = latents.shape[-2] * factor, latents.shape[-1] * factor
        row = mask.to(latents.device, latents.dtype).unsqueeze(1)
        if width < row.shape[-1]:
            row = F.adaptive_max_pool1d(row, width)
        elif width > row.shape[-1]:
            row = F.interpolate(row, size=width, mode="nearest")
        return row.unsqueeze(2).expand(-1, 1, height, width)

    def _check_inputs(
        self,
        video_features: torch.Tensor,
        masks: dict[str, MaskLike | None],
        strengths: dict[str, float],
        num_inference_steps: int,
        output_type: str,
        callback_on_step_end_tensor_inputs: list[str],
        init_mel: torch.Tensor | None,
        strength: float,
    ) -> None:
        if video_features.ndim != 3 or video_features.shape[-1] != self.feature_projector.config.feature_dim:
            raise ValueError(
                f"video_features must be (batch, frames, {self.feature_projector.config.feature_dim}), "
                f"got {tuple(video_features.shape)}"
            )
        batch = video_features.shape[0]
        for name, mask in masks.items():
            if mask is not None and tuple(mask.shape) != (batch, AUDIO.window_frames):
                raise ValueError(f"{name} must be ({batch}, {AUDIO.window_frames}), got {tuple(mask.shape)}")
        for name, value in strengths.items():
            if value < 0:
                raise ValueError(f"{name} must not be negative, got {value}")
        if num_inference_steps < 1:
            raise ValueError(f"num_inference_steps must be at least 1, got {num_inference_steps}")
        if output_type not in ("np", "pt", "mel"):
            raise ValueError(f"output_type must be 'np', 'pt' or 'mel', got {output_type!r}")
        unknown = [k for k in callback_on_step_end_tensor_inputs if k not in self._callback_tensor_inputs]
        if unknown:
            raise ValueError(f"callback_on_step_end_tensor_inputs must be in {self._callback_tensor_inputs}: {unknown}")
        if init_mel is not None:
            if tuple(init_mel.shape) != (batch, AUDIO.n_mels, AUDIO.window_frames):
                raise ValueError(
                    f"init_mel must be ({batch}, {AUDIO.n_mels}, {AUDIO.window_frames}), got {tuple(init_mel.shape)}"
                )
            if not 0 < strength <= 1:
                raise ValueError(f"strength must be in (0, 1], got {strength}")

    def _text_tokens(
        self, embeddings: torch.Tensor | None, centres: torch.Tensor | None, batch: int
    ) -> torch.Tensor | None:
        """The semantic adapter's text tokens (B, E, context_dim), or None without a semantic projector."""
        if self.semantic_projector is None:
            if embeddings is not None:
                raise ValueError("this pipeline has no semantic_projector, so it cannot take event_embeddings")
            return None
        if embeddings is None:
            return self.semantic_projector.empty(batch)
        if centres is None:
            raise ValueError("event_embeddings need event_centres")
        embeddings, centres = torch.as_tensor(embeddings), torch.as_tensor(centres)
        if embeddings.shape[0] != batch:
            raise ValueError(f"event_embeddings hold {embeddings.shape[0]} windows, video_features {batch}")
        return self.semantic_projector(embeddings, centres)

    def _timesteps(
        self, num_inference_steps: int, init_mel: torch.Tensor | None, strength: float
    ) -> torch.Tensor:
        self.scheduler.set_timesteps(num_inference_steps, device=self._execution_device)
        if init_mel is None:
            return self.scheduler.timesteps
        # SDEdit: start part-way down the noise schedule from the initial audio.
        kept = min(int(num_inference_steps * strength), num_inference_steps)
        start = (num_inference_steps - kept) * self.scheduler.order
        self.scheduler.set_begin_index(start)
        return self.scheduler.timesteps[start:]

    @torch.no_grad()
    def __call__(
        self,
        video_features: torch.Tensor,
        onset_mask: MaskLike | None = None,
        span_mask: MaskLike | None = None,
        event_embeddings: torch.Tensor | None = None,
        event_centres: torch.Tensor | None = None,
        temporal_strength: float = 1.0,
        semantic_strength: float = 1.0,
        num_inference_steps: int = 25,
        guidance_scale: float = 4.5,
        adapter_guidance: bool = True,
        edge_margin: bool = True,
        generator: torch.Generator | list[torch.Generator] | None = None,
        latents: torch.Tensor | None = None,
        init_mel: torch.Tensor | None = None,
        strength: float = 1.0,
        callback_on_step_end: Callable[["RhythmicFoleyPipeline", int, Any, dict[str, Any]], dict[str, Any]]
        | None = None,
        callback_on_step_end_tensor_inputs: list[str] | None = None,
        output_type: str = "np",
        return_dict: bool = True,
    ) -> RhythmicFoleyPipelineOutput | tuple[Any, Any]:
        """Generate one window (AUDIO.window_samples samples) per batch item.

        Args:
            video_features: (B, T, 512) per-frame video features (T ≤ the projector's positions).
            onset_mask: (B, 512) frame mask for the temporal adapter; None skips that adapter.
            span_mask: (B, 512) frame mask for the semantic adapter; None skips that adapter.
            event_embeddings: (B, E, 384) text embeddings of the window's sound events and
                prompt (`foley_engine.text`), all-zero rows for empty slots; the semantic
                adapter attends to them beside the video context. None: no text.
            event_centres: (B, E) each event's centre as a fraction of the window, negative
                for whole-window text (prompt, clip name). Required with `event_embeddings`.
            temporal_strength, semantic_strength: each adapter's conditioning scale; 0 skips it.
            num_inference_steps: scheduler steps.
            guidance_scale: classifier-free guidance weight; ≤ 1 runs without guidance.
            adapter_guidance: under guidance, run the adapters on the conditional half only
                (the unconditional prediction gets no residuals, as in diffusers' `guess_mode`),
                so guidance scales the adapters' effect along with the video condition's and
                each adapter runs on half the batch. False adds them to both halves, the
                plain ControlNet recipe, under which guidance leaves their effect as it is.
            edge_margin: denoise a latent `edge_columns` wider at each end (no cues there) and
                cut the window from the middle of the decoded mel: the networks' zero padding
                makes a latent's outermost columns decode a little louder, which would be heard
                (and detected) as a sound starting or swelling at the window's very end.
            generator: torch generator(s) for the initial noise.
            latents: initial noise (B, C, h, w + 2 * edge_columns with `edge_margin`, else w)
                instead of drawing it.
            init_mel: (B, 128, 512) normalised mel to start from (SDEdit); `strength` in
                (0, 1] is how much of the schedule is re-run (1 ignores it entirely).
            callback_on_step_end: called as `fn(pipe, step, timestep, tensors)` after each
                step and returns a dict that may replace the tensors; setting
                `pipe._interrupt = True` there cancels the run.
            callback_on_step_end_tensor_inputs: which tensors the callback gets ("latents",
                "context").
            output_type: "np" (numpy float32), "pt" (torch), or "mel" (no vocoder: audios is
                None and mels stay a torch tensor on the device, like diffusers' "latent").
            return_dict: return a `RhythmicFoleyPipelineOutput` rather than a tuple.

        Raises:
            Cancelled: the callback set the interrupt flag.
        """
        callback_on_step_end_tensor_inputs = callback_on_step_end_tensor_inputs or ["latents"]
        device = self._execution_device
        video_features = torch.as_tensor(video_features)
        init_mel = None if init_mel is None else torch.as_tensor(init_mel)
        masks = {"temporal_adapter": onset_mask, "semantic_adapter": span_mask}
        strengths = {"temporal_adapter": temporal_strength, "semantic_adapter": semantic_strength}
        self._check_inputs(
            video_features,
            {"onset_mask": onset_mask, "span_mask": span_mask},
            {"temporal_strength": temporal_strength, "semantic_strength": semantic_strength},
            num_inference_steps,
            output_type,
            callback_on_step_end_tensor_inputs,
            init_mel,
            strength,
        )
        self._interrupt = False
        batch = video_features.shape[0]
        dtype = self.unet.dtype
        do_guidance = guidance_scale > 1.0
        text_tokens = self._text_tokens(event_embeddings, event_centres, batch)

        context = self.feature_projector(video_features.to(device))
        if do_guidance:
            null = self.feature_projector.null_condition(batch, video_features.shape[1])
            context = torch.cat([null, context])
        context = context.to(dtype)

        timesteps = self._timesteps(num_inference_steps, init_mel, strength)
        margin = self.edge_columns if edge_margin else 0
        channels, height, width = self.latent_shape
        shape = (batch, channels, height, width + 2 * margin)
        margin_frames = margin * self.vae_scale_factor  # mel frames the margin adds at each end
        # Latents, noise and the scheduler's update stay float32 whatever the networks
        # run in, so a seed draws the same noise at every precision.
        if latents is None:
            latents = randn_tensor(shape, generator=generator, device=device, dtype=torch.float32)
        elif tuple(latents.shape) != shape:
            raise ValueError(f"latents must be {shape}, got {tuple(latents.shape)}")
        latents = latents.to(device, torch.float32)
        if init_mel is None:
            latents = latents * self.scheduler.init_noise_sigma
        else:
            start = self.encode_mel(init_mel).float()
            start = torch.cat([start[..., :1]] * margin + [start] + [start[..., -1:]] * margin, dim=-1)
            latents = self.scheduler.add_noise(start, latents, timesteps[:1].repeat(batch))

        # Adapters without a mask or with zero strength are never run.
        conditional_only = do_guidance and adapter_guidance
        both_halves = do_guidance and not adapter_guidance
        conditions = []
        for name, mask in masks.items():
            if mask is None or strengths[name] == 0:
                continue
            adapter = getattr(self, name)
            padded = F.pad(torch.as_tensor(mask, dtype=torch.float32), (margin_frames, margin_frames))
            image = self.conditioning_image(adapter, padded, latents).to(dtype)
            adapter_context = context[batch:] if conditional_only else context
            if name == "semantic_adapter" and text_tokens is not None:
                tokens = torch.cat([text_tokens] * 2) if both_halves else text_tokens
                adapter_context = torch.cat([adapter_context, tokens.to(dtype)], dim=1)
            conditions.append(
                (adapter, torch.cat([image] * 2) if both_halves else image, adapter_context, strengths[name])
            )

        with self.progress_bar(total=len(timesteps)) as progress_bar:
            for i, t in enumerate(timesteps):
                model_input = torch.cat([latents] * 2) if do_guidance else latents
                model_input = self.scheduler.scale_model_input(model_input, t).to(dtype)
                down_residuals, mid_residual = None, None
                for adapter, image, adapter_context, scale in conditions:
                    down, mid = adapter(
                        model_input[batch:] if conditional_only else model_input,
                        t,
                        encoder_hidden_states=adapter_context,
                        controlnet_cond=image,
                        conditioning_scale=scale,
                        return_dict=False,
                    )
                    if down_residuals is None:
                        down_residuals, mid_residual = list(down), mid
                    else:
                        down_residuals = [a + b for a, b in zip(down_residuals, down)]
                        mid_residual = mid_residual + mid
                if down_residuals is not None and conditional_only:
                    # The unconditional half gets no residuals.
                    down_residuals = [torch.cat([torch.zeros_like(r), r]) for r in down_residuals]
                    mid_residual = torch.cat([torch.zeros_like(mid_residual), mid_residual])
                noise = self.unet(
                    model_input,
                    t,
                    encoder_hidden_states=context,
                    down_block_additional_residuals=down_residuals,
                    mid_block_additional_residual=mid_residual,
                    return_dict=False,
                )[0].float()
                if do_guidance:
                    uncond, cond = noise.chunk(2)
                    noise = uncond + guidance_scale * (cond - uncond)
                latents = self.scheduler.step(noise, t, latents, return_dict=False)[0]

                if callback_on_step_end is not None:
                    tensors = {"latents": latents, "context": context}
                    outputs = callback_on_step_end(
                        self, i, t, {k: tensors[k] for k in callback_on_step_end_tensor_inputs}
                    )
                    latents = outputs.pop("latents", latents)
                    context = outputs.pop("context", context)
                progress_bar.update()
                if self.interrupt:
                    raise Cancelled(f"cancelled after diffusion step {i + 1} of {len(timesteps)}")

        mels = self.decode_latents(latents)[..., margin_frames : margin_frames + AUDIO.window_frames]
        audios = None if output_type == "mel" else self.vocoder(mels)
        self.maybe_free_model_hooks()
        if output_type == "np":
            mels = mels.cpu().numpy()
            audios = None if audios is None else audios.cpu().numpy().astype(np.float32)
        if not return_dict:
            return audios, mels
        return RhythmicFoleyPipelineOutput(audios=audios, mels=mels)
