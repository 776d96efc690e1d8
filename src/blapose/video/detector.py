"""One person's 2D (and metric 3D) landmarks per frame with MediaPipe Pose.

Uses the legacy ``mediapipe.solutions.pose`` API with the model bundled in the mediapipe wheel
(``model_complexity=1``): nothing is downloaded. In video mode MediaPipe tracks the person found
first and re-detects when tracking is lost, which keeps one person across the clip.

Glossary: T frames, L landmarks (33, MediaPipe order, see ``landmarks``). Pixel coordinates are
those of the full video frame (x right, y down); world landmarks are MediaPipe's metric estimate
in meters, origin at the mid-hips, x right, y down, z away from the camera.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
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


#: A followed person's box is the box around their landmarks grown by this factor about its centre,
#: plus ``BOX_MARGIN`` of the frame's longest side on every side: room for a limb moving fast.
BOX_GROWTH = 1.3
BOX_MARGIN = 0.03


def _clipped_box(box: np.ndarray, width: int, height: int) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) int pixels of ``box`` clipped to the frame, at least 2 pixels each way."""
    x0, y0 = max(0, int(np.floor(box[0]))), max(0, int(np.floor(box[1])))
    x1, y1 = min(width, int(np.ceil(box[2]))), min(height, int(np.ceil(box[3])))
    return x0, y0, max(x1, x0 + 2), max(y1, y0 + 2)


#: Landmarks at least this visible place the followed box (MediaPipe guesses hidden ones, sometimes far off).
BOX_MIN_VISIBILITY = 0.5


def box_around(pixels: np.ndarray, visibility: np.ndarray, width: int, height: int) -> np.ndarray:
    """The box (4,) x0, y0, x1, y1 pixels in which a person with landmarks ``pixels`` (L, 2) of
    ``visibility`` (L,) is looked for in the next frame: the box of their visible landmarks (all when
    fewer than 4 are) grown by ``BOX_GROWTH`` and ``BOX_MARGIN``."""
    visible = visibility >= BOX_MIN_VISIBILITY
    if visible.sum() >= 4:
        pixels = pixels[visible]
    low, high = pixels.min(axis=0), pixels.max(axis=0)
    centre = (low + high) / 2
    half = (high - low) / 2 * BOX_GROWTH + BOX_MARGIN * max(width, height)
    return np.concatenate([centre - half, centre + half])


def detect_landmarks(frames: Iterable[np.ndarray], width: int, height: int,
                     bar: Progress | None = None, person_box: Sequence[float] | None = None) -> Detections:
    """Run MediaPipe Pose on BGR frames (H, W, 3) uint8 of a ``width`` x ``height`` video.

    ``bar`` is updated once per frame. Frames are scaled down to ``DETECTION_SIZE`` pixels on
    their longest side before detection; landmarks are returned in full-frame pixels. The pose
    model is MediaPipe's ``model_complexity=1``, the one bundled in its wheel (0 and 2 download).

    person_box: (x0, y0, x1, y1) pixels of the first frame holding the person to follow when there
    are several. Each frame is then cropped to the box before detection, and the box follows the
    person: after every frame with a detection it becomes ``box_around`` their landmarks; after a
    frame without one it stays. None: the whole frame (MediaPipe keeps the person it found first).
    """
    import cv2

    mp = _import_mediapipe()

    box = None if person_box is None else np.asarray(person_box, dtype=np.float64)
    pixels, visibility, world, detected = [], [], [], []
    with mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1, smooth_landmarks=True,
                                enable_segmentation=False) as pose:
        for frame in frames:
            x0, y0, x1, y1 = (0, 0, width, height) if box is None else _clipped_box(box, width, height)
            crop = frame[y0:y1, x0:x1]
            scale = min(1.0, DETECTION_SIZE / max(x1 - x0, y1 - y0))
            if scale < 1.0:
                size = (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale)))
                crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
            result = pose.process(cv2.cvtColor(crop, cv2.COLOR_BGR2RGB))
            found = result.pose_landmarks is not None and result.pose_world_landmarks is not None
            if found:
                image = np.array([(p.x, p.y, p.visibility) for p in result.pose_landmarks.landmark])
                pixels.append(image[:, :2] * (x1 - x0, y1 - y0) + (x0, y0))
                visibility.append(image[:, 2])
                world.append(np.array([(p.x, p.y, p.z) for p in result.pose_world_landmarks.landmark]))
                if box is not None:
                    box = box_around(pixels[-1], visibility[-1], width, height)
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
