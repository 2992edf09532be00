"""Rhythmic Foley's model side: DSP, video sampling, onsets, the diffusion pipeline.

This package knows nothing of gRPC or timelines. Heavy modules (torch,
diffusers) are imported by the submodules that need them, not here.
"""

__version__ = "0.2.0"
