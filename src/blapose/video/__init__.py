"""Videos in the wild: OpenCV reading, every person's MediaPipe 2D keypoints (or another detector's
keypoint file) mapped to Human3.6M joints, following people, frame-rate resampling, lifting, bone
lengths, BLAPose adjustment and npz/mp4/BVH/TRC/C3D outputs.

``process(path, ...)`` runs the whole pipeline (``blapose video`` on the command line) and returns
one ``PersonResult`` per person; its options objects ``Source``, ``PersonChoice``, ``Lifting``,
``Scene`` and ``Outputs`` are importable from here. Nothing heavy (OpenCV, MediaPipe, torch) is
imported until it runs.
"""

from __future__ import annotations

from typing import Any

#: Names served from here, imported on first use: the options objects and the per-person result.
_LAZY_NAMES = {"Source": "options", "PersonChoice": "options", "Lifting": "options", "Scene": "options",
               "Outputs": "options", "PersonResult": "results"}


def process(*args: Any, **kwargs: Any):
    """See ``blapose.video.pipeline.process``."""
    from .pipeline import process as run

    return run(*args, **kwargs)


def __getattr__(name: str) -> Any:
    if name in _LAZY_NAMES:
        from . import options, results

        return getattr({"options": options, "results": results}[_LAZY_NAMES[name]], name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
