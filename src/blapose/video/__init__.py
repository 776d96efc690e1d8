"""Videos in the wild: OpenCV reading, MediaPipe 2D keypoints mapped to Human3.6M joints,
frame-rate resampling, lifting, bone lengths, BLAPose adjustment and npz/mp4/BVH outputs.

``process(path, ...)`` runs the whole pipeline (``blapose video`` on the command line). Nothing
heavy (OpenCV, MediaPipe, torch) is imported until it runs.
"""

from __future__ import annotations

from typing import Any


def process(*args: Any, **kwargs: Any):
    """See ``blapose.video.pipeline.process``."""
    from .pipeline import process as run

    return run(*args, **kwargs)
