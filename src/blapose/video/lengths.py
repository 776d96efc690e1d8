"""A video's bone lengths: the adult population they must fit, a known height, and a fallback.

Joint definition. ``blapose video`` places the 17 Human3.6M joints on MediaPipe's landmarks
(``landmarks.H36M_FROM_MEDIAPIPE``), so its bone lengths are those of that skeleton: hips and
shoulders where MediaPipe (and COCO, whose keypoints its topology extends) puts them, pelvis at
mid-hips, thorax at mid-shoulders. The hips are about 0.2 m apart, against 0.26 m for Human3.6M's
motion-capture hip joints, and the shin reaches the ankle landmark. The npz and BVH of a video
follow this definition, not Human3.6M's.

Anny's COCO keypoints are not MediaPipe's landmarks: both mark joints from the outside of the
body, by different conventions (COCO's own annotators spread by several centimetres, its OKS
constants). So the population's ranges are widened by ``DEFINITION_TOLERANCE`` before a video's
lengths are checked against them, and only the limbs are checked bone by bone: the torso and head
bones depend on the definitions more than on the body.

Population. ``assets/population_mediapipe.npz`` holds 5,000 adult bodies drawn from the Anny body
model's calibrated shape distribution, their joints placed as above on Anny's COCO keypoints
(``blapose synth-lengths --joints mediapipe --amount 5000 --seed 2``): lengths 'data' (M, 16) and
standing heights 'height' (M,), meters. ``Population`` derives from it the typical lengths at a
height (least squares per bone), a height from lengths, and the 1st-99th percentile ranges of each
bone at a height and of the ratios in ``RATIOS``.

Glossary: B bones (16, bone ``i`` ends at joint ``i + 1``), M bodies. Lengths and heights are meters.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from ..bones import symmetrize_lengths
from ..skeleton import H36M

POPULATION_FILE = Path(__file__).resolve().parent.parent / "assets" / "population_mediapipe.npz"
#: The share of the population outside the accepted range, on each side (the 1st and 99th percentiles).
TAIL = 0.01
#: Each accepted range is widened on both sides by this share of its middle value: the room left for
#: the difference between the population's keypoint definition and a video detector's.
DEFINITION_TOLERANCE = 0.1


def _bone(joint: str) -> int:
    return H36M.joint_names.index(joint) - 1


#: Ratios between bones that a body keeps whatever its size: name -> (numerator bones, denominator bones).
RATIOS: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    "thigh / shin": ((_bone("RKnee"),), (_bone("RFoot"),)),
    "upper arm / forearm": ((_bone("RElbow"),), (_bone("RWrist"),)),
    "arm / leg": ((_bone("RElbow"), _bone("RWrist")), (_bone("RKnee"), _bone("RFoot"))),
}
#: Bones checked one by one (the right limb bones; left ones equal them): thigh, shin, upper arm, forearm.
LIMB_BONES = tuple(_bone(joint) for joint in ("RKnee", "RFoot", "RElbow", "RWrist"))
#: Bones named in messages, by the joint they end at.
BONE_NAMES = tuple(H36M.joint_names[child] for child in H36M.bone_children)


def ratios(lengths: np.ndarray) -> np.ndarray:
    """The ``RATIOS`` (..., R) of lengths (..., B)."""
    lengths = np.asarray(lengths, dtype=np.float64)
    return np.stack([lengths[..., list(top)].sum(-1) / lengths[..., list(bottom)].sum(-1)
                     for top, bottom in RATIOS.values()], axis=-1)


@dataclass(frozen=True)
class Population:
    """Adult bodies: lengths (M, B) and standing heights (M,), meters, left and right alike."""

    lengths: np.ndarray
    heights: np.ndarray

    @classmethod
    def load(cls, path: str | Path = POPULATION_FILE) -> Population:
        """The shipped population (see the module docstring), or another file of the same keys."""
        with np.load(path, allow_pickle=False) as content:
            return cls(symmetrize_lengths(np.asarray(content["data"], dtype=np.float64)),
                       np.asarray(content["height"], dtype=np.float64))

    @cached_property
    def _by_height(self) -> np.ndarray:
        """(2, B): lengths = coefficients[0] + coefficients[1] * height, least squares over the bodies."""
        design = np.stack([np.ones_like(self.heights), self.heights], axis=1)
        return np.linalg.lstsq(design, self.lengths, rcond=None)[0]

    @cached_property
    def _height_from_lengths(self) -> np.ndarray:
        """(B + 1,): height = coefficients[0] + lengths @ coefficients[1:], least squares over the bodies."""
        design = np.column_stack([np.ones_like(self.heights), self.lengths])
        return np.linalg.lstsq(design, self.heights, rcond=None)[0]

    @cached_property
    def _relative_spread(self) -> np.ndarray:
        """(2, B): the ``TAIL`` and 1 - ``TAIL`` quantiles of each body's lengths over the typical ones at
        its height."""
        relative = self.lengths / self.typical(self.heights)
        return np.quantile(relative, [TAIL, 1 - TAIL], axis=0)

    @cached_property
    def ratio_range(self) -> np.ndarray:
        """(2, R): the ``TAIL`` and 1 - ``TAIL`` quantiles of the ``RATIOS`` over the bodies, widened."""
        return _widened(np.quantile(ratios(self.lengths), [TAIL, 1 - TAIL], axis=0))

    def typical(self, height: float | np.ndarray) -> np.ndarray:
        """Typical lengths (..., B) of adults of ``height`` (...) meters."""
        height = np.asarray(height, dtype=np.float64)[..., None]
        return self._by_height[0] + height * self._by_height[1]

    def height_of(self, lengths: np.ndarray) -> np.ndarray:
        """The standing height (...) of bodies with lengths (..., B): Anny's linear relation."""
        return self._height_from_lengths[0] + np.asarray(lengths, dtype=np.float64) @ self._height_from_lengths[1:]

    def length_range(self, height: float) -> tuple[np.ndarray, np.ndarray]:
        """(low, high) (B,) each: the 1st and 99th percentile of each bone of adults of ``height``, widened."""
        low, high = _widened(self.typical(height) * self._relative_spread)
        return low, high

    @property
    def height_range(self) -> tuple[float, float]:
        """The 1st and 99th percentile of the population's heights, meters, widened."""
        low, high = _widened(np.quantile(self.heights, [TAIL, 1 - TAIL]))
        return float(low), float(high)

    def at_height(self, lengths: np.ndarray, height: float) -> np.ndarray:
        """Lengths (B,) with the proportions of ``lengths`` (B,) and the size of a body ``height`` meters tall."""
        lengths = np.asarray(lengths, dtype=np.float64)
        intercept, slopes = self._height_from_lengths[0], self._height_from_lengths[1:]
        return lengths * ((height - intercept) / float(lengths @ slopes))

    def problems(self, lengths: np.ndarray) -> list[str]:
        """Why lengths (B,) meters are not those of an adult: the height they imply within the
        population's 1st-99th percentile, each of the ``LIMB_BONES`` within its 1st-99th percentile
        at that height, and the ``RATIOS`` within theirs (all widened by ``DEFINITION_TOLERANCE``).
        An empty list: plausible."""
        lengths = np.asarray(lengths, dtype=np.float64)
        height = float(self.height_of(lengths))
        found = []
        low_height, high_height = self.height_range
        if not low_height <= height <= high_height:
            found.append(f"a height of {height:.2f} m (adults: {low_height:.2f}-{high_height:.2f} m)")
        low, high = self.length_range(np.clip(height, low_height, high_height))
        for bone in LIMB_BONES:
            if not low[bone] <= lengths[bone] <= high[bone]:
                found.append(f"{BONE_NAMES[bone]} bone {lengths[bone] * 1000:.0f} mm "
                             f"(at {height:.2f} m: {low[bone] * 1000:.0f}-{high[bone] * 1000:.0f} mm)")
        for name, value, (low_ratio, high_ratio) in zip(RATIOS, ratios(lengths), self.ratio_range.T):
            if not low_ratio <= value <= high_ratio:
                found.append(f"{name} {value:.2f} (adults: {low_ratio:.2f}-{high_ratio:.2f})")
        return found

    def nearest_plausible(self, lengths: np.ndarray) -> np.ndarray:
        """Lengths (B,) moved into the population: the height they imply clipped to the adults', then
        each bone clipped to its accepted range at that height."""
        lengths = np.asarray(lengths, dtype=np.float64)
        height = float(np.clip(self.height_of(lengths), *self.height_range))
        resized = self.at_height(lengths, height)
        return np.clip(resized, *self.length_range(height))


def _widened(bounds: np.ndarray) -> np.ndarray:
    """Bounds (2, ...) low and high, each moved out by ``DEFINITION_TOLERANCE`` of their midpoint."""
    slack = DEFINITION_TOLERANCE * (bounds[0] + bounds[1]) / 2
    return np.stack([bounds[0] - slack, bounds[1] + slack])


#: Largest accepted difference between a bone's share of the body in the predicted lengths and in
#: the lifter's own (both relative to their geometric mean): beyond it the two disagree on the body.
MAX_PROPORTION_DISAGREEMENT = 0.3


def proportion_disagreements(predicted: np.ndarray, own: np.ndarray) -> list[str]:
    """Bones whose proportion in ``predicted`` (B,) differs from that in the lifter's ``own`` (B,)
    lengths by more than ``MAX_PROPORTION_DISAGREEMENT``."""
    predicted, own = np.asarray(predicted, dtype=np.float64), np.asarray(own, dtype=np.float64)
    relative = (predicted / np.exp(np.log(predicted).mean())) / (own / np.exp(np.log(own).mean()))
    return [f"{BONE_NAMES[bone]} bone {predicted[bone] * 1000:.0f} mm where the lifter's poses say "
            f"{own[bone] * 1000:.0f} mm" for bone in LIMB_BONES
            if abs(relative[bone] - 1.0) > MAX_PROPORTION_DISAGREEMENT]


@dataclass(frozen=True)
class VideoLengths:
    """The lengths a video's poses get (B,) meters, what set their size ('height', 'model' or
    'fallback', the npz's ``scale_source``), and a one-line note when the prediction was replaced."""

    lengths: np.ndarray
    scale_source: str
    note: str = ""


def choose_lengths(predicted: np.ndarray, own: np.ndarray, height: float | None = None,
                   population: Population | None = None) -> VideoLengths:
    """The lengths for a video from the length model's ``predicted`` (B,) and the lifter's ``own``
    per-video lengths (B,) (e.g. medians over frames), meters.

    With ``height`` (meters), the prediction's proportions are sized to it. The result must be an
    adult's (``Population.problems``) and agree with the lifter's proportions
    (``proportion_disagreements``); otherwise the lifter's own lengths, moved into the population
    (``Population.nearest_plausible``; sized to ``height`` when given), replace it and ``note`` says why.
    """
    population = Population.load() if population is None else population
    predicted = symmetrize_lengths(np.asarray(predicted, dtype=np.float64))
    own = symmetrize_lengths(np.asarray(own, dtype=np.float64))
    if height is not None:
        predicted = population.at_height(predicted, height)
    problems = population.problems(predicted) + proportion_disagreements(predicted, own)
    if not problems:
        return VideoLengths(predicted, "height" if height is not None else "model")
    fallback = population.nearest_plausible(own)
    if height is not None:
        fallback = population.nearest_plausible(population.at_height(fallback, height))
    note = (f"predicted bone lengths are implausible ({'; '.join(problems[:3])}"
            f"{f'; {len(problems) - 3} more' if len(problems) > 3 else ''}); "
            f"using the video's own lengths, moved into the adult range")
    return VideoLengths(fallback, "height" if height is not None else "fallback", note)
