"""Distances between sets of audio: Fréchet distance of embeddings, KL divergence of class distributions.

Both are the paper family's semantic figures. The Fréchet distance (FAD/FID's
formula) fits a Gaussian to each set of embeddings and compares the two; the
KL divergence compares a classifier's class distributions on the reference and
the generated audio of the same event.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

# Added to the covariances' diagonals when the product of two singular ones has no finite
# square root (a set smaller than the embedding's dimension), as FID's reference code does.
COVARIANCE_EPS = 1e-6
# Probabilities are floored here before the logarithm, so a class the generated audio rules
# out entirely costs a large, finite amount rather than infinity.
PROBABILITY_FLOOR = 1e-8


def gaussian_frechet(mean_a: np.ndarray, cov_a: np.ndarray, mean_b: np.ndarray, cov_b: np.ndarray) -> float:
    """‖μa − μb‖² + tr(Σa + Σb − 2 (Σa Σb)^½) of two Gaussians."""
    covmean = scipy.linalg.sqrtm(cov_a @ cov_b)
    if not np.isfinite(covmean).all():
        offset = np.eye(len(cov_a)) * COVARIANCE_EPS
        covmean = scipy.linalg.sqrtm((cov_a + offset) @ (cov_b + offset))
    # Numerical error leaves a tiny imaginary part on a product of covariances; the true root is real.
    covmean = np.real(covmean)
    diff = mean_a - mean_b
    return float(diff @ diff + np.trace(cov_a) + np.trace(cov_b) - 2.0 * np.trace(covmean))


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """The Fréchet distance between Gaussians fitted to the rows of `a` (N, D) and `b` (M, D).

    Each set needs at least two rows (a covariance); with fewer rows than
    dimensions the fitted covariances are singular, which the formula allows,
    but the figure is then noisy and biased upwards: compare runs of one size.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"expected two (rows, dim) arrays of one width, got {a.shape} and {b.shape}")
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"a Fréchet distance needs at least two rows per set, got {len(a)} and {len(b)}")
    return gaussian_frechet(a.mean(axis=0), np.cov(a, rowvar=False), b.mean(axis=0), np.cov(b, rowvar=False))


def kl_divergence(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """KL(p‖q) in nats of each row of two (N, C) arrays of class probabilities: (N,)."""
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    if p.shape != q.shape:
        raise ValueError(f"the distributions must have one shape, got {p.shape} and {q.shape}")
    p = np.clip(p, PROBABILITY_FLOOR, None)
    q = np.clip(q, PROBABILITY_FLOOR, None)
    p /= p.sum(axis=-1, keepdims=True)
    q /= q.sum(axis=-1, keepdims=True)
    return np.sum(p * np.log(p / q), axis=-1)
