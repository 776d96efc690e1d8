"""TRC marker files (OpenSim, Pose2Sim, Sports2D): write marker trajectories; the Human3.6M joints as markers.

Glossary: T frames, M markers, J joints (17, ``blapose.skeleton.H36M``). Positions are meters in a
y-up frame (OpenSim's convention), here the upright frame of ``blapose.geometry.rotations.upright_frame``,
the frame the BVH file is written in.

Layout, as OpenSim's own writer (``TRCFileAdapter``) and Pose2Sim (``triangulation.make_trc``) write
it: tab-separated text. Line 1 ``PathFileType 4 (X/Y/Z) <file name>``; line 2 the keys ``DataRate
CameraRate NumFrames NumMarkers Units OrigDataRate OrigDataStartFrame OrigNumFrames`` and line 3
their values; line 4 ``Frame# Time`` and each marker name followed by two blank cells (a name heads
its three columns); line 5 two blank cells then ``X1 Y1 Z1 X2 ...``; a blank line; then one row per
frame: frame number (1-based), time (seconds), then X Y Z of each marker. Each table row ends with a
tab, as OpenSim's writer ends it. A missing marker (any NaN coordinate) is three empty cells, the
TRC convention for a gap: OpenSim reads them as NaN, pandas (Pose2Sim's reader) too; the closing tab
keeps a gap in the last marker counted by OpenSim's reader, which drops one empty field at a line's
end.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..fileio import atomic_path
from ..skeleton import H36M

#: Characters OpenSim refuses in a component's (a marker's) name, besides whitespace (OpenSim 4
#: ``Component::finalizeFromProperties``).
OPENSIM_FORBIDDEN = "\\/*+"

#: The Human3.6M joints as marker names: ``H36M.joint_names`` with the characters OpenSim refuses
#: in a marker name replaced by '_' ('Neck/Nose' -> 'Neck_Nose').
H36M_MARKER_NAMES: tuple[str, ...] = tuple(
    "".join("_" if c in OPENSIM_FORBIDDEN else c for c in name) for name in H36M.joint_names)

#: Decimals written per unit: a micrometre either way.
DECIMALS = {"m": 6, "mm": 3}
SCALE_FROM_METERS = {"m": 1.0, "mm": 1000.0}


def check_markers(markers: np.ndarray, names: Sequence[str], fps: float) -> tuple[np.ndarray, tuple[str, ...]]:
    """Validate markers (T, M, 3) meters, names (M,) and fps; return markers as float64 and names as a tuple.

    NaN marks a missing marker; infinite values, an empty clip, a count of names other than M, empty,
    repeated or whitespace-holding names, names with characters OpenSim refuses (``OPENSIM_FORBIDDEN``)
    and a rate that is not a positive number raise ``InputError``.
    """
    markers = np.asarray(markers, dtype=np.float64)
    names = tuple(str(name) for name in names)
    if markers.ndim != 3 or markers.shape[2] != 3 or markers.shape[0] == 0 or markers.shape[1] == 0:
        raise InputError(f"markers have shape {markers.shape}, expected (frames, markers, 3) with at least one of each")
    if np.isinf(markers).any():
        raise InputError("markers hold infinite values (NaN marks a missing marker)")
    if len(names) != markers.shape[1]:
        raise InputError(f"{len(names)} marker names for {markers.shape[1]} markers")
    for name in names:
        if not name or any(c.isspace() or c in OPENSIM_FORBIDDEN for c in name):
            raise InputError(f"marker name {name!r} is empty or holds whitespace or one of {OPENSIM_FORBIDDEN!r}, "
                             "which OpenSim refuses in marker names")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise InputError(f"marker names repeat: {', '.join(repeated)}")
    if not (np.isfinite(fps) and fps > 0):
        raise InputError(f"frame rate {fps} is not a positive number of frames per second")
    return markers, names


def person_markers(poses: np.ndarray, camera_to_upright: np.ndarray, trajectory: np.ndarray | None = None,
                   detected: np.ndarray | None = None) -> np.ndarray:
    """One person's Human3.6M joints as markers (T, J, 3), meters, in the upright frame (y up).

    poses: (T, J, 3) meters, camera frame, root-relative (``PersonResult.poses_3d_adjusted``).
    camera_to_upright: (3, 3) rotation, ``geometry.rotations.upright_frame(result.up)``: the rotation the BVH
    file is written with, so markers and BVH share one frame. trajectory: (T, 3) meters, camera frame,
    the root's position per frame (``PersonResult.trajectory``); None keeps the root at the origin
    (root-relative markers). detected: (T,) bool; frames where it is False (no person found, poses
    filled in) become missing markers (NaN). Marker names: ``H36M_MARKER_NAMES``.
    """
    poses = np.asarray(poses, dtype=np.float64)
    rotation = np.asarray(camera_to_upright, dtype=np.float64)
    if poses.ndim != 3 or poses.shape[1:] != (H36M.num_joints, 3):
        raise InputError(f"poses have shape {poses.shape}, expected (frames, {H36M.num_joints}, 3)")
    if rotation.shape != (3, 3) or not np.allclose(rotation @ rotation.T, np.eye(3), atol=1e-6) \
            or np.linalg.det(rotation) < 0:
        raise InputError("camera_to_upright is not a (3, 3) rotation matrix")
    frames = len(poses)
    if trajectory is not None:
        trajectory = np.asarray(trajectory, dtype=np.float64)
        if trajectory.shape != (frames, 3):
            raise InputError(f"trajectory has shape {trajectory.shape}, expected ({frames}, 3): "
                             "one root position per frame of the poses")
        poses = poses + trajectory[:, None]
    markers = poses @ rotation.T
    if detected is not None:
        detected = np.asarray(detected, dtype=bool)
        if detected.shape != (frames,):
            raise InputError(f"detected has shape {detected.shape}, expected ({frames},)")
        markers[~detected] = np.nan
    return markers


def write_trc(path: str | os.PathLike, markers: np.ndarray, names: Sequence[str], fps: float, units: str = "m",
              first_frame: int = 0, file_name: str | None = None) -> Path:
    """Write markers (T, M, 3) meters, y-up frame, named ``names`` (M,), as a TRC file at ``fps`` frames/s.

    units: the file's unit, 'm' (OpenSim's and Pose2Sim's) or 'mm' (values times 1000); markers are
    always given in meters. first_frame: the 0-based index of the first row's frame in the video, so
    row t is ``Frame#`` first_frame + t + 1 at time (first_frame + t) / fps seconds. Markers with a NaN
    coordinate are written as missing (empty cells). Values are written to a micrometre. file_name: the
    name the first line gives (default: the name of ``path``; a caller writing to a temporary path
    passes the final one). Written whole or not at all.
    """
    markers, names = check_markers(markers, names, fps)
    if units not in DECIMALS:
        raise InputError(f"TRC units {units!r} are not one of {', '.join(DECIMALS)}")
    if int(first_frame) != first_frame or first_frame < 0:
        raise InputError(f"first_frame {first_frame} is not a frame index (an integer >= 0)")
    first_frame = int(first_frame)
    frames, count = markers.shape[:2]
    rate = f"{fps:.12g}"
    header = [
        f"PathFileType\t4\t(X/Y/Z)\t{file_name or Path(path).name}",
        "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\tOrigNumFrames",
        "\t".join([rate, rate, str(frames), str(count), units, rate, str(first_frame + 1), str(frames)]),
        "Frame#\tTime\t" + "".join(f"{name}\t\t\t" for name in names),
        "\t\t" + "".join(f"X{i}\tY{i}\tZ{i}\t" for i in range(1, count + 1)),
        "",
    ]
    values = np.char.mod(f"%.{DECIMALS[units]}f", markers * SCALE_FROM_METERS[units])
    values[np.isnan(markers).any(axis=-1)] = ""
    numbers = np.arange(first_frame, first_frame + frames)
    rows = [f"{number + 1}\t{number / fps:.6f}\t" + "".join(f"{v}\t" for v in row.ravel())
            for number, row in zip(numbers, values)]
    with atomic_path(path) as temporary:
        temporary.write_text("\n".join(header + rows) + "\n", encoding="utf-8")
    return Path(path)
