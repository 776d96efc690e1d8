"""Bone-length errors against the truth, split into body size (scale) and proportions.

Glossary: V videos, T frames, L bones (16). Lengths in meters; ``as_millimetres`` and
``format_length_table`` are the only places that print millimetres.

Definitions, for one video with predicted lengths p (L,) and true lengths g (L,):
- error E = mean_b |p_b - g_b| (upstream main.py ``eval_bone_length``);
- best scale s = argmin_s mean_b |s p_b - g_b|: the single factor that best resizes the predicted
  body onto the true one (a weighted median of g_b / p_b with weights p_b);
- proportion error P = mean_b |s p_b - g_b|: what no change of overall size can fix; 0 <= P <= E
  since s = 1 is one of the factors tried;
- scale error S = E - P: what the wrong overall size costs, i.e. how much of the error the best
  resize removes; 0 <= S <= E and S + P = E exactly;
- size error |s - 1|: how far the predicted body is too small or too large, as a fraction.
Per bone, P_b = mean |s p_b - g_b| with the video's s and S_b = E_b - P_b, whose mean over bones
is S (a single bone's S_b may be negative: resizing the whole body can move one bone away).
Per-frame (causal) predictions (T, L) get one s per frame and are averaged over the frames of
their video first. Every video then counts once.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..bones import require_valid_lengths
from ..errors import InputError
from ..fileio import atomic_path
from ..skeleton import H36M

Key = tuple[str, str, int]


def best_scale(predicted: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """The factor s (...,) minimising mean |s * predicted - truth| over the last axis.

    predicted (..., L) positive meters; truth broadcastable to it, meters. s is the weighted median
    of truth / predicted with weights predicted (the lower one where the median is an interval).
    """
    predicted = np.asarray(predicted, dtype=np.float64)
    truth = np.broadcast_to(np.asarray(truth, dtype=np.float64), predicted.shape)
    ratios = truth / predicted
    order = np.argsort(ratios, axis=-1)
    weights = np.take_along_axis(predicted, order, axis=-1)
    cumulative = np.cumsum(weights, axis=-1)
    median_index = np.argmax(cumulative >= 0.5 * cumulative[..., -1:], axis=-1)
    sorted_ratios = np.take_along_axis(ratios, order, axis=-1)
    return np.take_along_axis(sorted_ratios, median_index[..., None], axis=-1)[..., 0]


@dataclass(frozen=True)
class LengthErrorSummary:
    """Length errors of one set of predictions, meters (``size`` a fraction); definitions in the module.

    per_bone (L,) E_b; per_bone_proportion (L,) P_b; mean E; scale S; proportion P; size mean |s - 1|;
    videos: how many videos were compared.
    """

    per_bone: np.ndarray
    per_bone_proportion: np.ndarray
    mean: float
    scale: float
    proportion: float
    size: float
    videos: int

    def as_millimetres(self, skeleton: Any = H36M) -> dict[str, Any]:
        """Plain values for JSON: errors in mm, per bone by name, size in percent."""
        return {
            "mean_mm": self.mean * 1000, "scale_mm": self.scale * 1000, "proportion_mm": self.proportion * 1000,
            "size_error_percent": self.size * 100, "videos": self.videos,
            "per_bone_mm": {name: float(value) * 1000 for name, value in zip(skeleton.bone_names, self.per_bone)},
            "per_bone_proportion_mm": {name: float(value) * 1000
                                       for name, value in zip(skeleton.bone_names, self.per_bone_proportion)},
        }


def length_errors(predicted: Mapping[Key, np.ndarray], truth: Mapping[Key, np.ndarray],
                  source: str = "predicted lengths") -> LengthErrorSummary:
    """Compare predicted lengths {video: (L,) or (T, L) meters} with true ones {video: (L,) meters}.

    Every video of ``truth`` needs a prediction; predictions must be finite and positive (raises
    ``InputError`` naming ``source``, the video and the bone otherwise).
    """
    if not truth:
        raise InputError(f"{source}: no videos to compare")
    errors, proportions, sizes = [], [], []
    for key, true in truth.items():
        if key not in predicted:
            raise InputError(f"{source}: no lengths for {key[0]} '{key[1]}' camera {key[2]}")
        guess = np.asarray(predicted[key], dtype=np.float64)
        require_valid_lengths(guess, f"{source}: {key[0]} '{key[1]}' camera {key[2]}")
        guess = guess.reshape(-1, guess.shape[-1])  # (frames or 1, L)
        true = np.asarray(true, dtype=np.float64)
        scale = best_scale(guess, true)[:, None]
        errors.append(np.abs(guess - true).mean(axis=0))
        proportions.append(np.abs(scale * guess - true).mean(axis=0))
        sizes.append(float(np.abs(scale - 1).mean()))
    per_bone, per_bone_proportion = np.mean(errors, axis=0), np.mean(proportions, axis=0)
    mean, proportion = float(per_bone.mean()), float(per_bone_proportion.mean())
    return LengthErrorSummary(per_bone=per_bone, per_bone_proportion=per_bone_proportion, mean=mean,
                              scale=mean - proportion, proportion=proportion, size=float(np.mean(sizes)),
                              videos=len(truth))


def format_length_table(summaries: Mapping[str, LengthErrorSummary], skeleton: Any = H36M) -> str:
    """A table in mm: one column per set of lengths, one row per bone, then mean, scale, proportion, size."""
    names = list(summaries)
    width = max(12, *(len(name) + 2 for name in names))
    title = "length error (mm)"
    first = max(len(title), *(len(name) for name in skeleton.bone_names)) + 2

    def row(label: str, values: Iterable[float], unit: str = "") -> str:
        return f"{label:<{first}}" + "".join(f"{value:>{width - len(unit)}.1f}{unit}" for value in values)

    lines = [f"{title:<{first}}" + "".join(f"{name:>{width}}" for name in names),
             "-" * (first + width * len(names))]
    for bone, bone_name in enumerate(skeleton.bone_names):
        lines.append(row(bone_name, [summaries[name].per_bone[bone] * 1000 for name in names]))
    lines.append("-" * (first + width * len(names)))
    lines.append(row("mean", [summaries[name].mean * 1000 for name in names]))
    lines.append(row("  scale (size)", [summaries[name].scale * 1000 for name in names]))
    lines.append(row("  proportion", [summaries[name].proportion * 1000 for name in names]))
    lines.append(row("size error", [summaries[name].size * 100 for name in names], unit="%"))
    return "\n".join(lines)


def write_length_report_json(path: str | os.PathLike, summaries: Mapping[str, LengthErrorSummary],
                             **extra: Any) -> None:
    """Write {'lengths': {name: summary in mm}, **extra} as JSON, atomically."""
    content = {"lengths": {name: summary.as_millimetres() for name, summary in summaries.items()}, **extra}
    with atomic_path(path) as temporary:
        temporary.write_text(json.dumps(content, indent=2) + "\n")
