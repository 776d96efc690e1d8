"""Synthetic bone lengths from body models (Anny, SMPL), their alignment with a dataset, and a
documented anthropometric fallback.

Modules: ``anny_model`` and ``smpl_model`` (bodies -> Human3.6M joints -> lengths), ``generate``
(batched generation with progress), ``align`` (upstream's data alignment), ``files`` (upstream's
npz format), ``report`` (mm table), ``fallback`` (no body model needed), ``cache`` (user cache).
Nothing heavy is imported here.
"""

from __future__ import annotations

import numpy as np


def sample_training_lengths(amount: int, seed: int) -> tuple[np.ndarray, str]:
    """Bone lengths to train a length model on: (amount, 16) float64 meters and what made them.

    Uses Anny's adult shape distribution when ``anny`` is installed (the first call builds and
    caches the model, about 1-2 minutes), else ``fallback.sample_fallback_lengths``. Left and
    right bones are equal. The lengths are not aligned with any dataset; see
    ``align.shift_to_mean``.
    """
    from .anny_model import anny_available

    rng = np.random.default_rng(seed)
    if anny_available():
        from .generate import generate_lengths

        lengths = generate_lengths("anny", "neutral", amount, rng, progress=False)
        return lengths, "Anny body model (adult bodies from Anny's calibrated shape distribution)"
    from .fallback import DESCRIPTION, sample_fallback_lengths

    return sample_fallback_lengths(amount, rng), DESCRIPTION


__all__ = ["sample_training_lengths"]
