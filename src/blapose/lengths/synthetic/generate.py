"""One entry point for synthetic bone lengths from a body model, batched, with a progress bar, and
the lengths a length model trains on when no file is given (Anny, else the fallback).

Glossary: M bodies, B bones (16). Lengths in meters, left/right averaged.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from ...errors import InputError
from ...progress import Progress

BODY_MODELS = ("anny", "smpl")


def generate_lengths(body_model: str, gender: str, amount: int, rng: np.random.Generator,
                     body_model_dir: str | Path | None = None, progress: bool = True,
                     log: Callable[[str], None] = print, joints: str = "h36m") -> np.ndarray:
    """Draw ``amount`` bodies from ``body_model`` ('anny' or 'smpl') -> lengths (M, 16) float64 meters.

    ``gender``: 'neutral', 'mix', 'male' or 'female' (see ``anny_model`` and ``smpl_model``).
    ``body_model_dir``: folder holding the SMPL files (default data/bone_length). ``joints``:
    'h36m', or (Anny only) 'mediapipe', which returns (M, 17): the lengths of a video's keypoints
    and, last, each body's standing height in meters (``anny_model``). Raises ``InputError`` for a
    missing package or missing model files.
    """
    if amount < 1:
        raise InputError(f"--amount must be at least 1, got {amount}")
    if joints != "h36m" and body_model != "anny":
        raise InputError(f"--joints {joints} needs --body-model anny")
    if body_model == "anny":
        from .anny_model import iter_anny_lengths, load_anny_bodies, require_anny

        require_anny()
        batches = iter_anny_lengths(load_anny_bodies(log=log, joints=joints), amount, gender, rng,
                                    with_heights=joints != "h36m")
    elif body_model == "smpl":
        from .smpl_model import DEFAULT_BODY_MODEL_DIR, check_smpl_setup, iter_smpl_lengths

        directory = DEFAULT_BODY_MODEL_DIR if body_model_dir is None else Path(body_model_dir)
        check_smpl_setup(directory, gender)
        batches = iter_smpl_lengths(directory, amount, gender, rng)
    else:
        raise InputError(f"unknown body model '{body_model}', expected one of {', '.join(BODY_MODELS)}")
    chunks = []
    with Progress(amount, f"{body_model} {gender}", unit="body", enabled=progress) as bar:
        for chunk in batches:
            chunks.append(chunk)
            bar.update(len(chunk))
    return np.concatenate(chunks)


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
        lengths = generate_lengths("anny", "neutral", amount, rng, progress=False)
        return lengths, "Anny body model (adult bodies from Anny's calibrated shape distribution)"
    from .fallback import DESCRIPTION, sample_fallback_lengths

    return sample_fallback_lengths(amount, rng), DESCRIPTION
