"""Which 2D joints were seen: inside the frame, finite, and scored as visible by the detector.

Glossary: T frames, J joints (17, Human3.6M order). Keypoints are (T, J, 2) float pixels of the
video frame (x right, y down); scores are (T, J) float in [0, 1] (MediaPipe's landmark visibility
mapped to the joints, or a keypoint file's confidence; 0 where nothing was found).

A joint that is not seen still gets a position (the detector's or the lifter's guess); the
renderer draws its bones as such (dashed, pale) and the summary says how often each was unseen.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError

#: Score from which a joint counts as seen: MediaPipe's own cut for a visible landmark
#: (its drawing utilities skip landmarks with visibility below 0.5).
VISIBLE_SCORE = 0.5


def visible_joints(keypoints_2d: np.ndarray, frame_size: tuple[int, int] | None = None,
                   scores: np.ndarray | None = None, threshold: float = VISIBLE_SCORE) -> np.ndarray:
    """Seen joints (..., T, J) bool of keypoints (..., T, J, 2) pixels.

    A joint is seen where its keypoint is finite, inside the frame of ``frame_size`` (width,
    height) pixels when given, and its score (..., T, J) is at least ``threshold`` when scores
    are given.
    """
    keypoints_2d = np.asarray(keypoints_2d, dtype=np.float64)
    if keypoints_2d.ndim < 2 or keypoints_2d.shape[-1] != 2:
        raise InputError(f"2D keypoints have shape {keypoints_2d.shape}, expected (..., joints, 2)")
    seen = np.isfinite(keypoints_2d).all(axis=-1)
    if frame_size is not None:
        with np.errstate(invalid="ignore"):
            x, y = keypoints_2d[..., 0], keypoints_2d[..., 1]
            seen &= (x >= 0) & (x < frame_size[0]) & (y >= 0) & (y < frame_size[1])
    if scores is not None:
        scores = np.asarray(scores, dtype=np.float64)
        if scores.shape != seen.shape:
            raise InputError(f"scores have shape {scores.shape}, expected {seen.shape} (one per keypoint)")
        seen &= scores >= threshold
    return seen


def unseen_share(visible: np.ndarray) -> np.ndarray:
    """Share (J,) float in [0, 1] of the frames in which each joint was not seen; visible (T, J) bool.

    NaN for every joint when there are no frames.
    """
    visible = np.asarray(visible, dtype=bool)
    if visible.ndim != 2:
        raise InputError(f"visibility flags have shape {visible.shape}, expected (frames, joints)")
    if len(visible) == 0:
        return np.full(visible.shape[1], np.nan)
    return 1.0 - visible.mean(axis=0)
