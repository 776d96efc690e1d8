"""What ``blapose video`` finds for each person: ``PersonResult`` and the npz it is written as
(``NPZ_KEYS``, what each key holds).

Glossary: T_k frames of person k (their ``frames``), J joints (17), B bones (16). Poses are meters,
camera frame (x right, y down, z forward), root-relative; keypoints are pixels of the video frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .visibility import visible_joints


@dataclass
class PersonResult:
    """One person: what ``process`` found and wrote; array shapes and units as in the npz (``NPZ_KEYS``),
    per-frame arrays over the person's ``frames``."""

    number: int
    frames: np.ndarray
    keypoints_2d: np.ndarray
    scores: np.ndarray
    detected: np.ndarray
    poses_3d: np.ndarray
    poses_3d_adjusted: np.ndarray
    bone_lengths: np.ndarray
    fps: float
    width: int
    height: int
    up: np.ndarray
    trajectory: np.ndarray | None = None
    focal_length: float = float("nan")
    swapped: np.ndarray | None = None
    scale_source: str = "model"
    lengths_note: str = ""
    clip_frames: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)

    def visible(self) -> np.ndarray:
        """(T_k, 17) bool: joints seen in each frame (inside it, score at least ``VISIBLE_SCORE``)."""
        return visible_joints(self.keypoints_2d, (self.width, self.height), self.scores)

    def arrays(self) -> dict[str, np.ndarray]:
        """The npz content: the keys of ``NPZ_KEYS`` (``trajectory`` only when it was computed)."""
        arrays = {"frames": self.frames.astype(np.int64),
                  "keypoints_2d": self.keypoints_2d.astype(np.float32), "scores": self.scores.astype(np.float32),
                  "detected": self.detected.astype(bool), "poses_3d": self.poses_3d.astype(np.float32),
                  "poses_3d_adjusted": self.poses_3d_adjusted.astype(np.float32),
                  "bone_lengths": self.bone_lengths.astype(np.float32), "fps": np.float64(self.fps),
                  "width": np.int64(self.width), "height": np.int64(self.height),
                  "up": self.up.astype(np.float32), "focal_length": np.float64(self.focal_length),
                  "swapped": (np.zeros(len(self.detected), dtype=bool) if self.swapped is None
                              else self.swapped.astype(bool)),
                  "scale_source": np.str_(self.scale_source)}
        if self.trajectory is not None:
            arrays["trajectory"] = self.trajectory.astype(np.float32)
        return arrays


#: The name of one person's results before several people were followed (kept for a release).
VideoResult = PersonResult

#: npz keys and what they hold; T_k is the number of the person's frames.
NPZ_KEYS = {
    "frames": "(T_k,) int64, the video frames (from 0) the person's per-frame arrays cover: contiguous, from "
              "their first to their last detection",
    "keypoints_2d": "(T_k, 17, 2) float32, pixels, Human3.6M joint order; a keypoint file's keypoints as given "
                    "where it has them; frames and joints without a detection interpolated",
    "scores": "(T_k, 17) float32, the detector's confidence (MediaPipe's landmark visibility mapped to the "
              "joints, or the file's scores); 0 where not detected",
    "detected": "(T_k,) bool, False where the person was not found and the frame was filled in",
    "swapped": "(T_k,) bool, frames whose left and right labels were exchanged back (blapose.video.swaps; "
               "MediaPipe only)",
    "poses_3d": "(T_k, 17, 3) float32, meters, camera frame, root-relative: the lifter's poses (or --poses' "
                "as given, root subtracted)",
    "poses_3d_adjusted": "(T_k, 17, 3) float32, meters, camera frame, root-relative: bones set to bone_lengths",
    "bone_lengths": "(16,) float32 meters, bone i ends at joint i + 1; (T_k, 16) with --causal; the joints of "
                    "the video's keypoints (blapose.video.lengths)",
    "scale_source": "str, what set the size of bone_lengths: 'height' (--height), 'model' or 'fallback'",
    "trajectory": "(T_k, 3) float32, meters, camera frame: the root joint's position (absent with "
                  "--no-trajectory)",
    "focal_length": "float, pixels: the focal length the trajectory assumed (--focal, --fov or the default)",
    "fps": "float, frames per second of the video",
    "width": "int, frame width in pixels",
    "height": "int, frame height in pixels",
    "up": "(3,) float32, the world's up direction in the camera frame, estimated from everyone's poses",
}

