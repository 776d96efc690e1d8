"""One person's 2D (and metric 3D) landmarks per frame with MediaPipe Pose.

Uses the legacy ``mediapipe.solutions.pose`` API with the model bundled in the mediapipe wheel
(``model_complexity=1``): nothing is downloaded. In video mode MediaPipe tracks the person found
first and re-detects when tracking is lost, which keeps one person across the clip.

Glossary: T frames, L landmarks (33, MediaPipe order, see ``landmarks``). Pixel coordinates are
those of the full video frame (x right, y down); world landmarks are MediaPipe's metric estimate
in meters, origin at the mid-hips, x right, y down, z away from the camera.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
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


#: A detection: pixels (L, 2), visibility (L,), world (L, 3).
Landmarks = tuple[np.ndarray, np.ndarray, np.ndarray]


def result_landmarks(result, scale: tuple[float, float], offset: tuple[float, float]) -> Landmarks | None:
    """Landmarks of a MediaPipe result in frame pixels (image = normalised * scale + offset), or None."""
    if result.pose_landmarks is None or result.pose_world_landmarks is None:
        return None
    image = np.array([(p.x, p.y, p.visibility) for p in result.pose_landmarks.landmark])
    world = np.array([(p.x, p.y, p.z) for p in result.pose_world_landmarks.landmark])
    return image[:, :2] * scale + offset, image[:, 2], world


def area_shrink(image: np.ndarray, size: int = DETECTION_SIZE) -> np.ndarray:
    """``image`` (H, W, C) scaled down with ``INTER_AREA`` to at most ``size`` pixels on its longest side
    (itself when small enough): what the one-person detector hands MediaPipe."""
    import cv2

    height, width = image.shape[:2]
    scale = min(1.0, size / max(width, height))
    if scale >= 1.0:
        return image
    target = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(image, target, interpolation=cv2.INTER_AREA)


def landmarks_in_box(pose, frame: np.ndarray, box: np.ndarray, width: int, height: int,
                     hidden: Sequence[np.ndarray] = (),
                     resize: Callable[[np.ndarray], np.ndarray] = area_shrink) -> Landmarks | None:
    """Run MediaPipe ``pose`` on the crop of BGR ``frame`` (H, W, 3) uint8 inside ``box`` (4,) x0, y0,
    x1, y1 pixels (clipped to the frame, then ``resize``d to at most ``DETECTION_SIZE``), with the
    boxes ``hidden`` (4,) frame pixels painted grey; landmarks in frame pixels, or None when no person
    was found."""
    import cv2

    x0, y0, x1, y1 = _clipped_box(box, width, height)
    crop = frame[y0:y1, x0:x1]
    if len(hidden):
        crop = crop.copy()
        for other in hidden:
            a0, b0, a1, b1 = _clipped_box(np.asarray(other) - (x0, y0, x0, y0), x1 - x0, y1 - y0)
            crop[b0:b1, a0:a1] = 128
    crop = resize(crop)
    return result_landmarks(pose.process(cv2.cvtColor(crop, cv2.COLOR_BGR2RGB)), (x1 - x0, y1 - y0), (x0, y0))


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

    mp = _import_mediapipe()

    box = None if person_box is None else np.asarray(person_box, dtype=np.float64)
    whole = np.array([0.0, 0.0, width, height])
    pixels, visibility, world, detected = [], [], [], []
    with mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1, smooth_landmarks=True,
                                enable_segmentation=False) as pose:
        for frame in frames:
            found = landmarks_in_box(pose, frame, whole if box is None else box, width, height)
            if found is not None:
                pixels.append(found[0])
                visibility.append(found[1])
                world.append(found[2])
                if box is not None:
                    box = box_around(pixels[-1], visibility[-1], width, height)
            else:
                pixels.append(np.zeros((NUM_LANDMARKS, 2)))
                visibility.append(np.zeros(NUM_LANDMARKS))
                world.append(np.zeros((NUM_LANDMARKS, 3)))
            detected.append(found is not None)
            if bar is not None:
                bar.update()
    if not detected:
        empty = np.zeros((0, NUM_LANDMARKS))
        return Detections(np.zeros((0, NUM_LANDMARKS, 2)), empty, np.zeros((0, NUM_LANDMARKS, 3)),
                          np.zeros(0, dtype=bool))
    return Detections(np.stack(pixels), np.stack(visibility), np.stack(world), np.array(detected))
