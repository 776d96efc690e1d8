"""C3D motion files (motion-capture labs, Visual3D, Mokka): marker trajectories written with ezc3d.

Glossary: T frames, M markers. Markers come in meters in a y-up frame (the TRC writer's, see ``trc``)
and are stored unchanged in axes, in millimetres (POINT:UNITS 'mm', the unit C3D files from labs
use) as floating-point values (POINT:SCALE -1). POINT:X_SCREEN '+X' and POINT:Y_SCREEN '+Y' tell
viewers that y is up. Each point's residual is 0 (valid, computed rather than measured) or -1 where
the marker is missing (a NaN coordinate), the C3D convention for an invalid point; missing points'
coordinates read back as NaN with ezc3d. ezc3d (pyomeca, MIT) is an optional dependency:
``pip install 'blapose[c3d]'``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..fileio import atomic_path
from .trc import check_markers

#: Millimetres per meter: the file's unit.
MM_PER_M = 1000.0
#: The longest label a C3D parameter holds (its dimensions are bytes).
MAX_LABEL = 255


def write_c3d(path: str | os.PathLike, markers: np.ndarray, names: Sequence[str], fps: float,
              first_frame: int = 0) -> Path:
    """Write markers (T, M, 3) meters, y-up frame, named ``names`` (M,), as a C3D file at ``fps`` frames/s.

    Stored in millimetres. first_frame: the 0-based index of the first row's frame in the video (the
    header's first frame is first_frame + 1, C3D counting from 1). Markers with a NaN coordinate get
    residual -1 (missing). Names must be ASCII, at most 255 characters (C3D labels). Written whole or
    not at all; raises ``InputError`` when ezc3d is missing.
    """
    markers, names = check_markers(markers, names, fps)
    for name in names:
        if len(name) > MAX_LABEL or not name.isascii():
            shown = name if len(name) <= 40 else name[:40] + "..."
            raise InputError(f"marker name {shown!r} is not a C3D label (ASCII, at most {MAX_LABEL} characters)")
    if int(first_frame) != first_frame or first_frame < 0:
        raise InputError(f"first_frame {first_frame} is not a frame index (an integer >= 0)")
    try:
        import ezc3d
    except ImportError:
        raise InputError("--c3d needs the ezc3d library: pip install 'blapose[c3d]'") from None
    frames, count = markers.shape[:2]
    missing = np.isnan(markers).any(axis=-1)  # (T, M)
    points = np.ones((4, count, frames))  # ezc3d's layout: (x, y, z, 1) x markers x frames
    points[:3] = (markers * MM_PER_M).transpose(2, 1, 0)
    points[:3, missing.T] = np.nan
    residuals = np.where(missing.T, -1.0, 0.0)[None]  # (1, M, T)
    c3d = ezc3d.c3d()
    point = c3d["parameters"]["POINT"]
    point["RATE"]["value"] = [float(fps)]
    point["LABELS"]["value"] = list(names)
    point["DESCRIPTIONS"]["value"] = [""] * count
    point["UNITS"]["value"] = ["mm"]
    c3d.add_parameter("POINT", "X_SCREEN", ["+X"])
    c3d.add_parameter("POINT", "Y_SCREEN", ["+Y"])
    c3d["header"]["points"]["first_frame"] = int(first_frame)
    c3d["data"]["points"] = points
    c3d["data"]["meta_points"]["residuals"] = residuals
    c3d["data"]["meta_points"]["camera_masks"] = np.zeros((7, count, frames), dtype=bool)
    with atomic_path(path) as temporary:
        c3d.write(str(temporary))
    return Path(path)
