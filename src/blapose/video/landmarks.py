"""MediaPipe Pose's 33 landmarks -> the Human3.6M 17 joints, and filling frames without a person.

Glossary: T frames, L landmarks (33, MediaPipe Pose order), J joints (17, ``blapose.skeleton.H36M``
order), C coordinates per point (2 pixels, or 3 meters).

The mapping is one table, ``H36M_FROM_MEDIAPIPE``: each Human3.6M joint is a weighted mean of
landmarks. Limbs and the pelvis (mid-hips) and thorax (mid-shoulders) are the usual choice. The
spine and the two head joints are picked to reproduce the joints the lifter was trained on
(``blapose.data.synthetic.MEAN_LENGTHS`` / ``data.motion``: Spine ~0.48 of the way from pelvis to
thorax, Neck/Nose 0.121 m above the thorax, leaning forward, Head a further 0.115 m up, leaning
back), measured on MediaPipe's metric world landmarks of ``tests/data/pose_squats.mp4``:

- Spine = midpoint of pelvis and thorax (MMPose and MotionBERT do the same);
- Neck/Nose = midpoint of mid-shoulders and nose: 0.117 m above the thorax. MotionBERT and MMPose
  put the nose here (0.234 m above the thorax: twice the trained neck bone);
- Head = mean of both eyes and both ears: 0.112 m from Neck/Nose, behind the nose as the trained
  head bone leans back. MotionBERT's mid-eyes gives a 0.042 m head bone; GAST-Net's conversion
  (tools/mpii_coco_h36m.py, used by upstream's in-the-wild script) puts the head above the eyes by
  the eye-nose distance and moves the thorax a third of the way to the nose, away from the
  Human3.6M thorax that sits between the shoulders.

MediaPipe landmark indices: developers.google.com/mediapipe/solutions/vision/pose_landmarker.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..skeleton import H36M

#: MediaPipe Pose landmark names by index (33).
MEDIAPIPE_LANDMARKS = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_pinky",
    "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle", "left_heel", "right_heel",
    "left_foot_index", "right_foot_index",
)
NUM_LANDMARKS = len(MEDIAPIPE_LANDMARKS)

_HIPS = {"left_hip": 0.5, "right_hip": 0.5}
_SHOULDERS = {"left_shoulder": 0.5, "right_shoulder": 0.5}

#: Human3.6M joint -> {MediaPipe landmark: weight}; weights of a joint sum to 1.
H36M_FROM_MEDIAPIPE: dict[str, dict[str, float]] = {
    "Hip": _HIPS,
    "RHip": {"right_hip": 1.0},
    "RKnee": {"right_knee": 1.0},
    "RFoot": {"right_ankle": 1.0},
    "LHip": {"left_hip": 1.0},
    "LKnee": {"left_knee": 1.0},
    "LFoot": {"left_ankle": 1.0},
    "Spine": {"left_hip": 0.25, "right_hip": 0.25, "left_shoulder": 0.25, "right_shoulder": 0.25},
    "Thorax": _SHOULDERS,
    "Neck/Nose": {"nose": 0.5, "left_shoulder": 0.25, "right_shoulder": 0.25},
    "Head": {"left_eye": 0.25, "right_eye": 0.25, "left_ear": 0.25, "right_ear": 0.25},
    "LShoulder": {"left_shoulder": 1.0},
    "LElbow": {"left_elbow": 1.0},
    "LWrist": {"left_wrist": 1.0},
    "RShoulder": {"right_shoulder": 1.0},
    "RElbow": {"right_elbow": 1.0},
    "RWrist": {"right_wrist": 1.0},
}


def mapping_matrix() -> np.ndarray:
    """(J, L) float64 matrix M with ``joints = M @ landmarks``, built from ``H36M_FROM_MEDIAPIPE``."""
    matrix = np.zeros((H36M.num_joints, NUM_LANDMARKS))
    for joint, weights in H36M_FROM_MEDIAPIPE.items():
        row = H36M.joint_names.index(joint)
        for landmark, weight in weights.items():
            matrix[row, MEDIAPIPE_LANDMARKS.index(landmark)] = weight
    return matrix


_MATRIX = mapping_matrix()


def landmarks_to_h36m(landmarks: np.ndarray) -> np.ndarray:
    """Human3.6M joints (..., J, C) from MediaPipe landmarks (..., L, C); any units, any C.

    Also maps per-landmark scores: pass visibilities (..., L, 1) to get joint scores (..., J, 1).
    """
    landmarks = np.asarray(landmarks, dtype=np.float64)
    if landmarks.ndim < 2 or landmarks.shape[-2] != NUM_LANDMARKS:
        raise InputError(f"landmarks have shape {landmarks.shape}, expected (..., {NUM_LANDMARKS}, C)")
    return _MATRIX @ landmarks


def fill_gaps(values: np.ndarray, detected: np.ndarray) -> np.ndarray:
    """Values (T, ...) with the frames where ``detected`` (T,) bool is False filled in.

    Each missing frame is linearly interpolated in time between the nearest detected frames;
    frames before the first or after the last detection repeat it. Raises ``InputError`` when no
    frame is detected.
    """
    values = np.asarray(values, dtype=np.float64)
    detected = np.asarray(detected, dtype=bool)
    if detected.shape != values.shape[:1]:
        raise ValueError(f"detected has shape {detected.shape}, expected ({len(values)},)")
    if not detected.any():
        raise InputError("no person was detected in any frame")
    if detected.all():
        return values.copy()
    times = np.arange(len(values))
    flat = values.reshape(len(values), -1)
    filled = np.stack([np.interp(times, times[detected], column[detected]) for column in flat.T], axis=1)
    return filled.reshape(values.shape)
