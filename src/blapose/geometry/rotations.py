"""Rotation matrices, each kind built once, for numpy arrays and torch tensors.

Conventions (fixed here for every function):
- a rotation matrix R (..., 3, 3) acts on column vectors, ``R @ v``; row vectors turn with
  ``points @ R.T``. A matrix whose rows are a frame's axes written in another frame maps that
  other frame's coordinates into the frame's own.
- angles in radians, right-handed: a positive angle about x turns y towards z, about y turns z
  towards x, about z turns x towards y.
- quaternions are (w, x, y, z), scalar first (as in the Human3.6M metadata and pytorch3d).
- ``...`` any leading batch dims; inputs broadcast against each other. Every function returns
  the kind (numpy or torch) it was given; numpy quaternions are computed in float64.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _backend as xp

_AXES = {"x": 0, "y": 1, "z": 2}
#: Below this |v| a candidate axis is treated as degenerate and another one is used.
_DEGENERATE = 1e-6


def axis_angle_to_matrix(angle: Any, axis: str | int) -> Any:
    """Rotations (..., 3, 3) by ``angle`` (...,) radians about the coordinate axis ``axis``.

    axis: 'x', 'y' or 'z' (or 0, 1, 2); right-handed (see the module docstring), so about z the
    matrix is [[cos, -sin, 0], [sin, cos, 0], [0, 0, 1]].
    """
    index = _AXES.get(axis, -1) if isinstance(axis, str) else int(axis)
    if index not in (0, 1, 2):
        raise ValueError(f"axis must be 'x', 'y', 'z' or 0, 1, 2, got {axis!r}")
    ns = xp.namespace(angle)
    cos, sin = ns.cos(angle), ns.sin(angle)
    one, zero = ns.ones_like(cos), ns.zeros_like(cos)
    if index == 0:
        rows = [[one, zero, zero], [zero, cos, -sin], [zero, sin, cos]]
    elif index == 1:
        rows = [[cos, zero, sin], [zero, one, zero], [-sin, zero, cos]]
    else:
        rows = [[cos, -sin, zero], [sin, cos, zero], [zero, zero, one]]
    return ns.stack([ns.stack(row, -1) for row in rows], -2)


def quaternion_to_matrix(quaternion: Any) -> Any:
    """Rotation matrices (..., 3, 3) of quaternions (..., 4) (w, x, y, z), normalised first.

    A numpy input is read as float64 (lists and tuples too).
    """
    q = quaternion if xp.is_torch(quaternion) else np.asarray(quaternion, dtype=np.float64)
    if q.shape[-1] != 4:
        raise ValueError(f"quaternions must have shape (..., 4), got {tuple(q.shape)}")
    q = xp.normalize(xp.floating(q))
    w, x, y, z = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    ns = xp.namespace(q)
    return ns.stack([
        ns.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
        ns.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
        ns.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
    ], -2)


def quaternion_between(source: Any, target: Any) -> Any:
    """Unit quaternions (..., 4) (w, x, y, z) of the shortest-arc rotations turning unit vectors
    ``source`` (..., 3) onto unit vectors ``target`` (..., 3).

    Opposite vectors get a half turn about an axis perpendicular to ``source`` (its cross product
    with x, or with y where that vanishes).
    """
    source, target = xp.broadcast_arrays(xp.floating(source), xp.floating(target))
    axis = xp.cross(source, target)
    w = 1.0 + (source * target).sum(-1)
    perpendicular = xp.cross(source, xp.like(np.array([1.0, 0.0, 0.0]), source))
    fallback = xp.cross(source, xp.like(np.array([0.0, 1.0, 0.0]), source))
    small = (xp.vector_norm(perpendicular) < _DEGENERATE)[..., None]
    perpendicular = xp.normalize(xp.where(small, fallback, perpendicular))
    shortest = xp.concatenate([w[..., None], axis], axis=-1)
    half_turn = xp.concatenate([w[..., None] * 0, perpendicular], axis=-1)
    return xp.normalize(xp.where((w < 1e-9)[..., None], half_turn, shortest))


def rotation_between(source: Any, target: Any) -> Any:
    """Rotation matrices (..., 3, 3) turning unit vectors ``source`` (..., 3) onto unit vectors
    ``target`` (..., 3) by the shortest arc (``quaternion_between``): ``R @ source == target``."""
    return quaternion_to_matrix(quaternion_between(source, target))


def look_at(forward: Any, up: Any) -> Any:
    """Rotations (..., 3, 3) whose rows are a viewer's right, down and forward axes.

    forward (..., 3): the viewing direction (any length, not parallel to ``up``); up (..., 3): the
    direction that shows upwards in the view, in the same frame. ``points @ R.T`` gives view
    coordinates (x right, y down, z forward), as for a camera: with forward = target - position
    and up the world's up, R is the world-to-camera rotation of a level camera.
    """
    forward = xp.normalize(forward)
    up = xp.broadcast_arrays(up, forward)[0]
    right = xp.normalize(xp.cross(forward, up))
    down = xp.cross(forward, right)
    return xp.namespace(forward).stack([right, down, forward], -2)


def upright_frame(up: Any) -> Any:
    """Rotations (..., 3, 3) whose rows are an upright frame's x, y, z axes: y along ``up`` (..., 3)
    (normalised), x nearest the original x axis (the z axis where up is along x), z = x cross y.

    ``points @ R.T`` turns points into the upright frame (y up, as in BVH files).
    """
    up = xp.normalize(xp.floating(up if xp.is_torch(up) else np.asarray(up, dtype=np.float64)))
    x_axis = xp.like(np.array([1.0, 0.0, 0.0]), up) - up[..., 0:1] * up
    fallback = xp.like(np.array([0.0, 0.0, 1.0]), up) - up[..., 2:3] * up
    x_axis = xp.normalize(xp.where((xp.vector_norm(x_axis) < _DEGENERATE)[..., None], fallback, x_axis))
    return xp.namespace(up).stack([x_axis, up, xp.cross(x_axis, up)], -2)
