"""Left/right swaps of a detector over a clip: finding the frames whose sides are exchanged, and undoing it.

MediaPipe (like most 2D detectors) now and then labels a person's left limbs as right ones and the
other way round, mostly when the person is seen side-on and the limbs overlap in the image. A
lifter then mirrors the body for those frames, and temporal smoothing blends mirrored frames with
good ones. Two cues decide, per frame, whether to exchange the labels:

- **Face.** The nose is in front of the head whatever the labels say. The labels' own facing
  direction is the cross product of the left-minus-right vector (hips and shoulders) with the
  spine's up vector, taken in MediaPipe's metric 3D, where left and right also differ in depth.
  When it points away from the nose's direction (nose minus mid-ears, in 3D), the labels are
  mirrored. The cue is weighed by how clearly the two directions agree or disagree.
- **Continuity.** Limbs move little between frames: the labels of a frame should put each limb
  landmark near where the previous frame's corrected labels put it (2D, in units of the torso's
  size).

A two-state dynamic programme (Viterbi) picks the labelling of every frame that minimises the sum
of both costs over the clip, so one clear frame decides its ambiguous neighbours.

Glossary: T frames, L landmarks (33, MediaPipe order, ``landmarks.MEDIAPIPE_LANDMARKS``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .landmarks import MEDIAPIPE_LANDMARKS


def _mirror_name(name: str) -> str:
    return name.replace("left", "#").replace("right", "left").replace("#", "right")


#: (L,) landmark order of the mirrored labels: each left landmark takes its right partner's place.
FLIP = np.array([MEDIAPIPE_LANDMARKS.index(_mirror_name(name)) for name in MEDIAPIPE_LANDMARKS])
_INDEX = {name: index for index, name in enumerate(MEDIAPIPE_LANDMARKS)}
#: Landmarks whose motion measures continuity: shoulders to wrists, hips to feet.
LIMBS = np.array([index for name, index in _INDEX.items()
                  if name.split("_", 1)[-1] in {"shoulder", "elbow", "wrist", "hip", "knee", "ankle", "heel",
                                                "foot_index"}])
#: Weight of the face cue against the continuity cost (a fully clear face disagreement costs this much).
FACE_WEIGHT = 1.0


@dataclass(frozen=True)
class SwapFix:
    """Landmarks with their sides put right: pixels (T, L, 2), visibility (T, L), world (T, L, 3), and
    ``exchanged`` (T,) bool, the frames whose labels were exchanged."""

    pixels: np.ndarray
    visibility: np.ndarray
    world: np.ndarray
    exchanged: np.ndarray


def _torso_size(pixels: np.ndarray) -> np.ndarray:
    """Per frame (T,) a length in pixels: mean of the shoulder width, hip width and the two flanks."""
    shoulders, hips = pixels[:, [_INDEX["left_shoulder"], _INDEX["right_shoulder"]]], \
        pixels[:, [_INDEX["left_hip"], _INDEX["right_hip"]]]
    sizes = [np.linalg.norm(shoulders[:, 0] - shoulders[:, 1], axis=-1), np.linalg.norm(hips[:, 0] - hips[:, 1], axis=-1),
             np.linalg.norm(shoulders - hips, axis=-1).mean(axis=-1)]
    return np.maximum(np.mean(sizes, axis=0), 1e-6)


def face_agreement(world: np.ndarray) -> np.ndarray:
    """Per frame (T,) in [-1, 1]: cosine between the labels' facing direction and the nose's, both
    horizontal (perpendicular to the spine), from landmarks (T, L, 3) meters (any frame). Negative:
    the labels look mirrored."""
    world = np.asarray(world, dtype=np.float64)

    def point(*names: str) -> np.ndarray:
        return world[:, [_INDEX[name] for name in names]].mean(axis=1)

    left_minus_right = (point("left_hip", "left_shoulder") - point("right_hip", "right_shoulder"))
    up = point("left_shoulder", "right_shoulder") - point("left_hip", "right_hip")
    up /= np.maximum(np.linalg.norm(up, axis=-1, keepdims=True), 1e-9)
    facing = np.cross(left_minus_right, up)
    nose = point("nose") - point("left_ear", "right_ear")

    def horizontal(vector: np.ndarray) -> np.ndarray:
        vector = vector - (vector * up).sum(-1, keepdims=True) * up
        return vector / np.maximum(np.linalg.norm(vector, axis=-1, keepdims=True), 1e-9)

    return (horizontal(facing) * horizontal(nose)).sum(-1)


def exchanged_frames(pixels: np.ndarray, world: np.ndarray, detected: np.ndarray) -> np.ndarray:
    """(T,) bool: the frames whose left and right labels to exchange (see the module docstring).

    pixels (T, L, 2), world (T, L, 3) MediaPipe landmarks; detected (T,) bool. Frames without a
    detection carry no cost and take the labelling of their neighbours.
    """
    frames = len(pixels)
    pixels = np.asarray(pixels, dtype=np.float64)
    agreement = np.where(detected, face_agreement(world), 0.0)
    unary = FACE_WEIGHT * np.stack([np.maximum(-agreement, 0.0), np.maximum(agreement, 0.0)], axis=1)
    labellings = np.stack([pixels[:, LIMBS], pixels[:, FLIP][:, LIMBS]], axis=1)  # (T, 2, K, 2)
    scale = _torso_size(pixels)
    cost = unary[0].copy()
    back = np.zeros((frames, 2), dtype=int)
    last = 0
    for frame in range(1, frames):
        if not detected[frame]:
            cost, back[frame] = cost, [0, 1]
            continue
        if not detected[last]:
            moves = np.zeros((2, 2))
        else:
            step = labellings[frame][None] - labellings[last][:, None]  # (previous, current, K, 2)
            moves = (np.linalg.norm(step, axis=-1) / scale[frame]).mean(axis=-1) ** 2
        total = cost[:, None] + moves
        back[frame] = total.argmin(axis=0)
        cost = total.min(axis=0) + unary[frame]
        last = frame
    states = np.zeros(frames, dtype=int)
    states[-1] = int(cost.argmin())
    for frame in range(frames - 1, 0, -1):
        states[frame - 1] = back[frame, states[frame]]
    return states.astype(bool) & np.asarray(detected, dtype=bool)


def fix_swaps(pixels: np.ndarray, visibility: np.ndarray, world: np.ndarray, detected: np.ndarray) -> SwapFix:
    """The landmarks with the labels of ``exchanged_frames`` exchanged, in 2D and 3D alike."""
    exchanged = exchanged_frames(pixels, world, detected)

    def put_right(values: np.ndarray) -> np.ndarray:
        values = np.array(values, dtype=np.float64)
        values[exchanged] = values[exchanged][:, FLIP]
        return values

    return SwapFix(put_right(pixels), put_right(visibility), put_right(world), exchanged)
