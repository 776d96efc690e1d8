"""Frame-rate conversion between a video's frames and the 50 fps timeline the models expect.

Human3.6M (and the built-in data) is recorded at 50 fps, so the lifting and bone-length models
learned motion at that rate. A T-frame video at ``fps`` covers times t_i = i / fps; its model
timeline holds the frames at k / 50 s for k = 0 .. floor((T - 1) * 50 / fps). Values are
linearly interpolated in time; arrays are (T, ...) of any trailing shape and units.
"""

from __future__ import annotations

import numpy as np

#: Frame rate of Human3.6M and of the models trained on it.
MODEL_FPS = 50.0


def model_frame_count(frames: int, fps: float, model_fps: float = MODEL_FPS) -> int:
    """Frames of the model timeline covering a ``frames``-frame video at ``fps`` (at least 1)."""
    return int(np.floor((frames - 1) * model_fps / fps + 1e-9)) + 1


def resample(values: np.ndarray, source_fps: float, target_fps: float, frames: int) -> np.ndarray:
    """Values (T, ...) sampled at ``source_fps`` -> (frames, ...) sampled at ``target_fps``.

    Times past the last source frame repeat it.
    """
    values = np.asarray(values, dtype=np.float64)
    source_times = np.arange(len(values)) / source_fps
    target_times = np.arange(frames) / target_fps
    flat = values.reshape(len(values), -1)
    out = np.stack([np.interp(target_times, source_times, column) for column in flat.T], axis=1)
    return out.reshape((frames,) + values.shape[1:])


def to_model_rate(values: np.ndarray, fps: float, model_fps: float = MODEL_FPS) -> np.ndarray:
    """Video-rate values (T, ...) -> model-rate values (model_frame_count(T, fps), ...)."""
    return resample(values, fps, model_fps, model_frame_count(len(values), fps, model_fps))


def to_video_rate(values: np.ndarray, fps: float, frames: int, model_fps: float = MODEL_FPS) -> np.ndarray:
    """Model-rate values (T', ...) -> the ``frames`` video frames at ``fps`` (interpolated)."""
    return resample(values, model_fps, fps, frames)


def latest_model_frame(frames: int, fps: float, model_fps: float = MODEL_FPS) -> np.ndarray:
    """(frames,) int: for each video frame, the last model-timeline frame not after it (causal lookup)."""
    return np.floor(np.arange(frames) * model_fps / fps + 1e-9).astype(int)
