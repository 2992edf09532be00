"""Training the Rhythmic Foley model, stage by stage, on the dataset `foley data build` makes.

1. `cavp` — the video and audio towers, contrastively (`cavp.py`).
2. `vae` — the mel autoencoder (`vae.py`).
3. `base` — the latent diffusion UNet and feature projector, VAE and CAVP frozen (`base.py`).
4. `temporal` — the onset-mask adapter, base frozen (`temporal.py`).
5. `assemble` — the complete pipeline folder (`assemble.py`).

`foley train STAGE ...` runs one (see `__main__.py`); `run_all.sh` chains them.
"""

from .config import TrainingConfig, load_config
from .loop import TrainingError, train

__all__ = ["TrainingConfig", "TrainingError", "load_config", "train"]
