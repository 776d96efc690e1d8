"""Left/right swaps of a detector over a clip: finding the frames whose sides are exchanged, and undoing it.

MediaPipe (like most 2D detectors) now and then takes a person seen from the front for one seen
from the back, or the other way round, for a few frames: every left landmark is labelled right and
the other way round, and its metric 3D turns the body around in depth with them (the nose behind
the ears while the face is in view). A lifter then mirrors the body for those frames, and temporal
smoothing blends mirrored frames with good ones. Two continuity cues find these frames:

- **Limbs.** Limbs move little between frames: the labels of a frame should put each limb landmark
  near where the previous frame's (corrected) labels put it (2D, in units of the torso's size).
- **Head.** A head turns smoothly, so the depth of the nose behind or in front of the ears
  (MediaPipe's 3D, left and right ears averaged, which labels do not change) changes sign only
  gradually; a frame that is turned around has it mirrored.

A two-state dynamic programme (Viterbi) picks the labelling of every frame that minimises both
costs over the clip, plus a small cost per exchanged frame, so that without evidence the labels
stay as detected. Putting a frame right exchanges its left and right labels in 2D and 3D and
mirrors its 3D depths about the hips, turning MediaPipe's body back to face the way it faces.

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
#: Depth (meters) by which the nose sits in front of the ears, about: the head cue's unit.
HEAD_DEPTH = 0.1
#: Cost of exchanging one frame's labels without evidence (the continuity costs are in squared units).
EXCHANGE_COST = 0.05


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
    sizes = [np.linalg.norm(shoulders[:, 0] - shoulders[:, 1], axis=-1),
             np.linalg.norm(hips[:, 0] - hips[:, 1], axis=-1),
             np.linalg.norm(shoulders - hips, axis=-1).mean(axis=-1)]
    return np.maximum(np.mean(sizes, axis=0), 1e-6)


def head_depth(world: np.ndarray) -> np.ndarray:
    """Per frame (T,) meters: the nose's depth minus the ears' mean depth in landmarks (T, L, 3) of a
    camera-aligned frame (z away from the camera); negative when the face turns towards the camera."""
    world = np.asarray(world, dtype=np.float64)
    return world[:, _INDEX["nose"], 2] - world[:, [_INDEX["left_ear"], _INDEX["right_ear"]], 2].mean(axis=1)


def exchanged_frames(pixels: np.ndarray, world: np.ndarray, detected: np.ndarray) -> np.ndarray:
    """(T,) bool: the frames whose labels to exchange (and depths to mirror), see the module docstring.

    pixels (T, L, 2), world (T, L, 3) MediaPipe landmarks (camera-aligned, meters); detected (T,)
    bool. Frames without a detection carry no cost and take the labelling of their neighbours.
    """
    frames = len(pixels)
    pixels = np.asarray(pixels, dtype=np.float64)
    labellings = np.stack([pixels[:, LIMBS], pixels[:, FLIP][:, LIMBS]], axis=1)  # (T, 2, K, 2)
    heads = head_depth(world)[:, None] * np.array([1.0, -1.0])  # (T, 2): as detected, turned round
    scale = _torso_size(pixels)
    exchange = np.array([0.0, EXCHANGE_COST])
    cost = exchange.copy()
    back = np.tile(np.arange(2), (frames, 1))
    last = 0
    for frame in range(1, frames):
        if not detected[frame]:
            continue
        if not detected[last]:
            moves = np.zeros((2, 2))
        else:
            step = labellings[frame][None] - labellings[last][:, None]  # (previous, current, K, 2)
            moves = (np.linalg.norm(step, axis=-1) / scale[frame]).mean(axis=-1) ** 2
            moves = moves + ((heads[frame][None] - heads[last][:, None]) / HEAD_DEPTH) ** 2
        total = cost[:, None] + moves
        back[frame] = total.argmin(axis=0)
        cost = total.min(axis=0) + exchange
        last = frame
    states = np.zeros(frames, dtype=int)
    states[-1] = int(cost.argmin())
    for frame in range(frames - 1, 0, -1):
        states[frame - 1] = back[frame, states[frame]]
    return states.astype(bool) & np.asarray(detected, dtype=bool)


def turn_around(world: np.ndarray) -> np.ndarray:
    """Landmarks (..., L, 3) camera-aligned, with left and right labels exchanged and depths mirrored
    about the hips: the same body facing the other way in depth (its own inverse)."""
    turned = np.array(world, dtype=np.float64)[..., FLIP, :]
    hips = turned[..., [_INDEX["left_hip"], _INDEX["right_hip"]], 2].mean(axis=-1)
    turned[..., 2] = 2 * hips[..., None] - turned[..., 2]
    return turned


def fix_swaps(pixels: np.ndarray, visibility: np.ndarray, world: np.ndarray, detected: np.ndarray) -> SwapFix:
    """The landmarks with the frames of ``exchanged_frames`` put right: labels exchanged in 2D, 3D
    turned around (``turn_around``)."""
    exchanged = exchanged_frames(pixels, world, detected)
    pixels, visibility, world = (np.array(values, dtype=np.float64) for values in (pixels, visibility, world))
    pixels[exchanged] = pixels[exchanged][:, FLIP]
    visibility[exchanged] = visibility[exchanged][:, FLIP]
    world[exchanged] = turn_around(world[exchanged])
    return SwapFix(pixels, visibility, world, exchanged)
