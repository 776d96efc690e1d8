"""Reading videos with OpenCV: frame rate, size and frames, optionally decoded ahead in a thread.

Frames are BGR uint8 arrays (H, W, 3) as OpenCV returns them. Times are seconds from the first
frame of the file. OpenCV releases the GIL while decoding, so ``read_frames(..., ahead=N)``
decodes on a worker thread while the caller detects or draws.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..native_stderr import native_stderr_silenced


@dataclass(frozen=True)
class VideoInfo:
    """What the file says about itself: frames per second, frame size (pixels), frame count.

    ``frame_count`` is the container's estimate; the pipeline counts the frames it decodes.
    """

    path: Path
    fps: float
    width: int
    height: int
    frame_count: int


@dataclass(frozen=True)
class FrameRange:
    """Frames ``first`` (inclusive) to ``stop`` (exclusive, None: to the end) of a video."""

    first: int = 0
    stop: int | None = None

    @classmethod
    def from_seconds(cls, fps: float, start: float | None, end: float | None) -> FrameRange:
        """Frames whose time t = index / fps satisfies start <= t < end (either bound optional)."""
        if start is not None and start < 0:
            raise InputError(f"--start {start} is negative")
        if start is not None and end is not None and end <= start:
            raise InputError(f"--end {end} is not after --start {start}")
        first = 0 if start is None else int(np.ceil(start * fps - 1e-6))
        stop = None if end is None else int(np.ceil(end * fps - 1e-6))
        return cls(first, stop)


def _open(path: Path):
    import cv2

    with native_stderr_silenced():  # FFmpeg's own lines on a bad file ('moov atom not found'): ours says it
        capture = cv2.VideoCapture(str(path))
        opened = capture.isOpened()
    if not opened:
        capture.release()
        raise InputError(f"{path} is not a video that OpenCV can read")
    return capture


def probe_video(path: str | os.PathLike) -> VideoInfo:
    """Frame rate, size and frame count of the video at ``path``; ``InputError`` when it is none."""
    import cv2

    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path} is a folder, not a video file")
    if not path.is_file():
        raise InputError(f"video {path} does not exist")
    capture = _open(path)
    try:
        fps = float(capture.get(cv2.CAP_PROP_FPS))
        width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    finally:
        capture.release()
    if width <= 0 or height <= 0:
        raise InputError(f"{path} is not a video that OpenCV can read (no frame size)")
    if not np.isfinite(fps) or fps <= 0 or fps > 1000:
        raise InputError(f"{path} reports no usable frame rate ({fps})")
    return VideoInfo(path, fps, width, height, max(count, 0))


def _decode(path: Path, frames: FrameRange) -> Iterator[np.ndarray]:
    capture = _open(path)
    try:
        for _ in range(frames.first):
            if not capture.grab():
                return
        index = frames.first
        while frames.stop is None or index < frames.stop:
            ok, frame = capture.read()
            if not ok:
                return
            yield frame
            index += 1
    finally:
        capture.release()


_END = object()


def read_frames(path: str | os.PathLike, frames: FrameRange = FrameRange(), ahead: int = 0
                ) -> Iterator[np.ndarray]:
    """Yield the BGR frames (H, W, 3) uint8 of ``frames``; ``ahead`` > 0 decodes that many in advance
    on a worker thread (stopped when the caller stops iterating)."""
    path = Path(path)
    if ahead <= 0:
        yield from _decode(path, frames)
        return
    buffer: queue.Queue = queue.Queue(maxsize=ahead)
    stop = threading.Event()
    failure: list[BaseException] = []

    def worker() -> None:
        try:
            for frame in _decode(path, frames):
                while not stop.is_set():
                    try:
                        buffer.put(frame, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
        except BaseException as error:  # handed to the reading thread
            failure.append(error)
        finally:
            while not stop.is_set():
                try:
                    buffer.put(_END, timeout=0.1)
                    break
                except queue.Full:
                    continue

    thread = threading.Thread(target=worker, name="blapose-decode", daemon=True)
    thread.start()
    try:
        while True:
            item = buffer.get()
            if item is _END:
                break
            yield item
        if failure:
            raise failure[0]
    finally:
        stop.set()
        thread.join()
