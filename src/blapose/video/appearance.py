"""What a person and a frame look like, for re-identifying people and finding scene cuts.

A person's appearance is the colour of their clothes: for each body part (torso, thighs, shins) a
histogram of hue x saturation (8 x 3 bins) and of value (4 bins) over the box between the part's
keypoints, shrunk to its middle; the parts are concatenated, each weighted to sum 1 / parts.
Hue and saturation carry the colour; value is coarse so that sunlight and shade change it little.
``tracking.appearance_distance`` compares two such features.

A scene cut is a frame whose hue x saturation x value histogram (8 x 4 x 4) is far from the
previous frame's (Hellinger distance above ``CUT_DISTANCE``).

Glossary: K keypoints, F features (``FEATURES`` per part). Images are BGR uint8 (H, W, 3); keypoints
are pixels of that image.
"""

from __future__ import annotations

import numpy as np

#: Body parts by MediaPipe Pose landmark index: torso (shoulders, hips), thighs (hips, knees),
#: shins (knees, ankles).
MEDIAPIPE_PARTS = ((11, 12, 23, 24), (23, 24, 25, 26), (25, 26, 27, 28))
#: The same parts by Human3.6M joint index (``blapose.skeleton.H36M``: RHip 1, RKnee 2, RFoot 3,
#: LHip 4, LKnee 5, LFoot 6, LShoulder 11, RShoulder 14).
H36M_PARTS = ((11, 14, 1, 4), (1, 4, 2, 5), (2, 5, 3, 6))

_HUE_BINS, _SATURATION_BINS, _VALUE_BINS = 8, 3, 4
#: Features per body part.
FEATURES = _HUE_BINS * _SATURATION_BINS + _VALUE_BINS
#: Fraction of a part's box (each way, about its centre) whose pixels are counted.
PART_SHRINK = 0.7
#: Hellinger distance between consecutive frames' colour histograms above which a scene cut is declared.
CUT_DISTANCE = 0.5


def clothes_histogram(image_hsv: np.ndarray, keypoints: np.ndarray,
                      parts: tuple[tuple[int, ...], ...] = MEDIAPIPE_PARTS) -> np.ndarray:
    """Appearance (len(parts) * FEATURES,) float64, summing to 1, of the person with keypoints (K, 2)
    pixels in ``image_hsv`` (H, W, 3) uint8, OpenCV's HSV (hue 0..179). A part outside the image
    counts as a flat histogram."""
    import cv2

    height, width = image_hsv.shape[:2]
    features = []
    for part in parts:
        points = keypoints[list(part)]
        centre = (points.min(axis=0) + points.max(axis=0)) / 2
        half = np.maximum((points.max(axis=0) - points.min(axis=0)) / 2 * PART_SHRINK, 2.0)
        x0, y0 = np.maximum(np.floor(centre - half), 0).astype(int)
        x1, y1 = np.minimum(np.ceil(centre + half), (width, height)).astype(int)
        if x1 - x0 < 2 or y1 - y0 < 2:
            features.append(np.full(FEATURES, 1.0 / FEATURES))
            continue
        region = image_hsv[y0:y1, x0:x1]
        colour = cv2.calcHist([region], [0, 1], None, [_HUE_BINS, _SATURATION_BINS], [0, 180, 0, 256]).ravel()
        value = cv2.calcHist([region], [2], None, [_VALUE_BINS], [0, 256]).ravel()
        part = np.concatenate([colour, value]).astype(np.float64)
        features.append(part / part.sum())
    return np.concatenate(features) / len(parts)


def frame_histogram(image_hsv: np.ndarray) -> np.ndarray:
    """Colour histogram (128,) float64 summing to 1 of a whole HSV image (H, W, 3) uint8."""
    import cv2

    histogram = cv2.calcHist([image_hsv], [0, 1, 2], None, [8, 4, 4], [0, 180, 0, 256, 0, 256]).ravel()
    return histogram.astype(np.float64) / max(float(histogram.sum()), 1.0)


def scene_cut(previous: np.ndarray | None, current: np.ndarray, threshold: float = CUT_DISTANCE) -> bool:
    """True when frame histograms ``previous`` and ``current`` (``frame_histogram``) are farther apart
    than ``threshold`` (Hellinger distance); False for the first frame (``previous`` None)."""
    if previous is None:
        return False
    return float(np.sqrt(max(0.0, 1.0 - np.sqrt(previous * current).sum()))) > threshold
