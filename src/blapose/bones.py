"""Poses <-> bones (unit directions and lengths), symmetric lengths, and the BLAPose adjustment.

Glossary: T frames, J joints (17), B bones (16); ``...`` any leading batch dims.
Every function takes numpy arrays or torch tensors (differentiable) and returns the same kind.
Units are those of the input (meters throughout blapose); frames are preserved.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _backend as B
from .errors import InputError
from .skeleton import H36M, Skeleton

#: Bones shorter than this (meters) have no direction; their direction is the zero vector.
MIN_BONE_LENGTH = 1e-9


def bone_vectors(poses: Any, skeleton: Skeleton = H36M) -> Any:
    """Bone vectors ``child - parent`` of poses (..., J, 3) -> (..., B, 3)."""
    poses = B.floating(poses)
    return B.like(skeleton.incidence_matrix, poses) @ poses


def poses_to_bones(poses: Any, skeleton: Skeleton = H36M) -> tuple[Any, Any]:
    """Split poses (..., J, 3) into unit directions (..., B, 3) and lengths (..., B).

    A bone that is shorter than ``MIN_BONE_LENGTH`` or not finite gets direction 0 and length 0,
    so nothing downstream turns into NaN.
    """
    vectors = bone_vectors(poses, skeleton)
    lengths = B.vector_norm(vectors)
    valid = B.isfinite(lengths) & (lengths > MIN_BONE_LENGTH)
    if not B.is_torch(valid) and valid.all():  # the common numpy case, without copies
        return vectors / lengths[..., None], lengths
    zero = B.like(0.0, vectors)
    vectors = B.where(valid[..., None], vectors, zero)
    safe_lengths = B.where(valid, lengths, B.like(1.0, lengths))
    return vectors / safe_lengths[..., None], B.where(valid, lengths, zero)


def bone_lengths(poses: Any, skeleton: Skeleton = H36M) -> Any:
    """Bone lengths (..., B) of poses (..., J, 3); 0 for non-finite bones."""
    return poses_to_bones(poses, skeleton)[1]


def bones_to_poses(directions: Any, lengths: Any, root: Any = None, skeleton: Skeleton = H36M) -> Any:
    """Rebuild poses (..., J, 3) from directions (..., B, 3) and lengths broadcastable to (..., B).

    ``root`` (..., 3) places joint 0; ``None`` puts it at the origin (a root-relative pose).
    Directions need not be unit vectors (they are scaled as given). A negative or non-finite
    length raises ``InputError`` naming the bone (it would silently flip or erase the bone); a
    zero length (a degenerate bone, as ``poses_to_bones`` reports one) is allowed.
    """
    directions = B.floating(directions)
    lengths = B.like(lengths, directions) if not B.is_torch(lengths) else lengths.to(directions.dtype)
    require_valid_lengths(lengths, "bones_to_poses", skeleton, allow_zero=True)
    vectors = directions * lengths[..., None]
    poses = B.like(skeleton.ancestor_matrix, vectors) @ vectors
    if root is not None:
        poses = poses + root[..., None, :]
    return poses


def length_problem(lengths: Any, skeleton: Skeleton = H36M, allow_zero: bool = False) -> str | None:
    """None when all lengths (..., B) are finite and positive (or zero, with ``allow_zero``);
    otherwise a phrase naming the first bad bone, where it is among the leading dims, its value
    (meters) and how many other entries are bad."""
    values = lengths.detach().cpu().numpy() if B.is_torch(lengths) else np.asarray(lengths)
    with np.errstate(invalid="ignore"):
        valid = np.isfinite(values) & ((values >= 0) if allow_zero else (values > 0))
    if valid.all():
        return None
    bad = np.argwhere(~valid)
    *position, bone = (int(i) for i in bad[0])
    where = f" at index {position[0] if len(position) == 1 else tuple(position)}" if position else ""
    others = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
    name = skeleton.bone_names[bone] if values.shape[-1] == skeleton.num_bones else "?"
    return f"bone {bone} ({name}) has length {float(values[tuple(bad[0])]):.4g} m{where}{others}"


def require_valid_lengths(lengths: Any, where: str, skeleton: Skeleton = H36M, allow_zero: bool = False) -> None:
    """Raise ``InputError`` '<where>: bone i (name) has length x m ...' unless every length (..., B) is
    finite and positive (zero allowed with ``allow_zero``)."""
    problem = length_problem(lengths, skeleton, allow_zero)
    if problem is not None:
        kind = "non-negative" if allow_zero else "positive"
        raise InputError(f"{where}: {problem}; bone lengths must be finite and {kind}")


def symmetrize_lengths(lengths: Any, skeleton: Skeleton = H36M) -> Any:
    """Average each left/right bone pair of lengths (..., B); other bones are unchanged."""
    lengths = B.floating(lengths)
    return lengths @ B.like(skeleton.symmetric_average_matrix, lengths)


def adjust_poses(poses: Any, lengths: Any, skeleton: Skeleton = H36M) -> Any:
    """BLAPose adjustment: keep each bone's direction from ``poses`` and give it a new length.

    poses (..., T, J, 3) meters, any frame; lengths (..., 16) for one length set per sequence
    (broadcast over T, e.g. shape (16,) or (1, 16)) or (..., T, 16) for one per frame (causal).
    Returns poses of the same shape whose root joint stays where it was. Lengths must be finite
    and positive: anything else raises ``InputError`` naming the bone, never a flipped bone.
    """
    require_valid_lengths(lengths, "adjust_poses", skeleton)
    directions, _ = poses_to_bones(poses, skeleton)
    return bones_to_poses(directions, lengths, root=B.floating(poses)[..., 0, :], skeleton=skeleton)
