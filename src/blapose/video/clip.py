"""The clip ``blapose video`` looks for people in: a video probed (rate, size, frames in the chosen
seconds) or another detector's keypoint file read whole, and its frames decoded ahead on a thread.

Units: seconds for the chosen range, frames counted from 0, pixels for the frame size.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from .keypoint_files import KeypointFile, read_keypoints
from .options import Source
from .reader import FrameRange, probe_video, read_frames

#: Frames decoded ahead of detection and of rendering.
DECODE_AHEAD = 8


@dataclass
class Clip:
    """The frames people are looked for in: ``name`` of the outputs, the video (None: keypoints
    alone), its rate and frame size, the video frames ``frames`` (first, stop), how many frames the
    clip holds (``count``, known for a video once decoded), the words naming the 2D source and the
    keypoint file when the 2D come from one."""

    name: str
    video: Path | None
    fps: float
    width: int
    height: int
    frames: FrameRange
    count: int
    source_2d: str
    keypoints: KeypointFile | None = None

    def decoded(self) -> Iterator[np.ndarray]:
        """The video's frames of ``frames`` (H, W, 3) uint8 BGR, decoded ``DECODE_AHEAD`` ahead on a thread."""
        return read_frames(self.video, self.frames, ahead=DECODE_AHEAD)


def open_clip(path: str | os.PathLike | None, source: Source) -> Clip:
    """The clip to look for people in: the video's rate, size and frames (probed, not decoded), or a
    keypoint file read whole, with its rate and size from the video, the options or the file."""
    keypoints = None
    if source.keypoints is not None:
        keypoints = read_keypoints(source.keypoints, source.keypoints_format)
        words = f"{keypoints.format} keypoints ({keypoints.layout}) from {keypoints.source}"
    if path is not None:
        info = probe_video(path)
        frames = FrameRange.from_seconds(info.fps, source.start, source.end)
        count = _expected_frames(info.frame_count, frames)
        if keypoints is not None and count == 0:  # the container does not say: up to the file's last frame
            count = max(int(keypoints.frame_numbers.max()) + 1 - frames.first, 0)
        clip = Clip(info.path.stem, info.path, info.fps, info.width, info.height, frames, count,
                    "MediaPipe Pose" if keypoints is None else words, keypoints)
        if keypoints is not None:
            listed = keypoints.frame_numbers
            last = int(listed[listed < (frames.stop if frames.stop is not None else np.inf)].max(initial=-1))
            if info.frame_count and last >= info.frame_count:
                raise InputError(f"{keypoints.source} lists frame {last}, but {info.path} has "
                                 f"{info.frame_count} frames (0-{info.frame_count - 1})")
        return clip
    fps = source.fps if source.fps is not None else keypoints.fps
    if fps is None:
        raise InputError(f"{keypoints.source} does not give the frame rate; give --fps")
    size = source.size if source.size is not None else (
        (keypoints.width, keypoints.height) if keypoints.width and keypoints.height else None)
    if size is None:
        raise InputError(f"{keypoints.source} does not give the frame size; give --size WIDTH,HEIGHT")
    frames = FrameRange.from_seconds(fps, source.start, source.end)
    listed = keypoints.frame_numbers
    inside = listed[(listed >= frames.first) & ((listed < frames.stop) if frames.stop is not None else True)]
    if len(inside) == 0:
        raise InputError(f"{keypoints.source} lists no frame in the chosen seconds")
    frames = FrameRange(int(inside.min()), int(inside.max()) + 1)
    return Clip(Path(source.keypoints).stem, None, float(fps), int(size[0]), int(size[1]), frames,
                frames.stop - frames.first, words, keypoints)


def _expected_frames(frame_count: int, frames: FrameRange) -> int:
    """Frames of ``frames`` in a video of ``frame_count`` frames (the container's estimate)."""
    stop = frame_count if frames.stop is None else min(frame_count, frames.stop)
    return max(stop - frames.first, 0)
