"""Test material for several people in one video: tests/data/pose_squats.mp4 beside its mirror image.

Frames are BGR uint8 (HEIGHT, 2 * HALF_WIDTH, 3): the squatting woman scaled to HALF_WIDTH x HEIGHT
pixels on the left, her mirror image on the right; 5 fps like the clip.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from blapose.video.reader import FrameRange, read_frames

SQUATS = Path(__file__).parent / "data" / "pose_squats.mp4"
FPS, HALF_WIDTH, HEIGHT = 5.0, 360, 640


def two_people_frames(count: int | None = None) -> list[np.ndarray]:
    """The first ``count`` frames (all 65 when None) of the clip beside its mirror image."""
    import cv2

    frames = []
    for frame in read_frames(SQUATS, FrameRange(0, count)):
        small = cv2.resize(frame, (HALF_WIDTH, HEIGHT), interpolation=cv2.INTER_AREA)
        frames.append(np.concatenate([small, small[:, ::-1]], axis=1))
    return frames


def write_two_people_video(path: Path, count: int | None = None) -> Path:
    """``two_people_frames(count)`` written as an mp4 (mp4v) at ``FPS``; returns ``path``."""
    import cv2

    frames = two_people_frames(count)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (2 * HALF_WIDTH, HEIGHT))
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path
