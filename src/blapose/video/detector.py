"""One person's 2D (and metric 3D) landmarks per frame with MediaPipe Pose.

Uses the legacy ``mediapipe.solutions.pose`` API with the model bundled in the mediapipe wheel
(``model_complexity=1``): nothing is downloaded. In video mode MediaPipe tracks the person found
first and re-detects when tracking is lost, which keeps one person across the clip.

Glossary: T frames, L landmarks (33, MediaPipe order, see ``landmarks``). Pixel coordinates are
those of the full video frame (x right, y down); world landmarks are MediaPipe's metric estimate
in meters, origin at the mid-hips, x right, y down, z away from the camera.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..progress import Progress
from .landmarks import NUM_LANDMARKS

#: Longest side (pixels) of the image handed to MediaPipe; it runs its networks at 256 x 256 anyway.
DETECTION_SIZE = 640


@dataclass
class Detections:
    """Per-frame MediaPipe output; frames without a person hold zeros and ``detected`` False.

    pixels (T, L, 2) float64 pixels of the video frame; visibility (T, L) float64 in [0, 1];
    world (T, L, 3) float64 meters; detected (T,) bool.
    """

    pixels: np.ndarray
    visibility: np.ndarray
    world: np.ndarray
    detected: np.ndarray


def _import_mediapipe():
    try:
        import mediapipe as mp
    except ImportError:
        raise InputError("blapose video needs MediaPipe: pip install 'blapose[video]'") from None
    return mp


def detect_landmarks(frames: Iterable[np.ndarray], width: int, height: int,
                     bar: Progress | None = None) -> Detections:
    """Run MediaPipe Pose on BGR frames (H, W, 3) uint8 of a ``width`` x ``height`` video.

    ``bar`` is updated once per frame. Frames are scaled down to ``DETECTION_SIZE`` pixels on
    their longest side before detection; landmarks are returned in full-frame pixels. The pose
    model is MediaPipe's ``model_complexity=1``, the one bundled in its wheel (0 and 2 download).
    """
    import cv2

    mp = _import_mediapipe()

    scale = min(1.0, DETECTION_SIZE / max(width, height))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    pixels, visibility, world, detected = [], [], [], []
    with mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1, smooth_landmarks=True,
                                enable_segmentation=False) as pose:
        for frame in frames:
            small = cv2.resize(frame, size, interpolation=cv2.INTER_AREA) if scale < 1.0 else frame
            result = pose.process(cv2.cvtColor(small, cv2.COLOR_BGR2RGB))
            found = result.pose_landmarks is not None and result.pose_world_landmarks is not None
            if found:
                image = np.array([(p.x, p.y, p.visibility) for p in result.pose_landmarks.landmark])
                pixels.append(image[:, :2] * (width, height))
                visibility.append(image[:, 2])
                world.append(np.array([(p.x, p.y, p.z) for p in result.pose_world_landmarks.landmark]))
            else:
                pixels.append(np.zeros((NUM_LANDMARKS, 2)))
                visibility.append(np.zeros(NUM_LANDMARKS))
                world.append(np.zeros((NUM_LANDMARKS, 3)))
            detected.append(found)
            if bar is not None:
                bar.update()
    if not detected:
        empty = np.zeros((0, NUM_LANDMARKS))
        return Detections(np.zeros((0, NUM_LANDMARKS, 2)), empty, np.zeros((0, NUM_LANDMARKS, 3)),
                          np.zeros(0, dtype=bool))
    return Detections(np.stack(pixels), np.stack(visibility), np.stack(world), np.array(detected))
