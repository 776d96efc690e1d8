"""Pose errors, per frame or per sequence, in the units of the input (meters inside blapose).

Glossary: T frames, J joints, B bones; ``...`` any leading batch dims. Arrays are numpy.
Definitions follow VideoPose3D common/loss.py and BLAPose bone_adjust.py:
- MPJPE (Protocol 1): mean Euclidean distance between corresponding joints.
- P-MPJPE (Protocol 2): MPJPE after the similarity transform (rotation, uniform scale,
  translation) that best aligns the prediction to the target, reflections excluded.
- N-MPJPE: MPJPE after the least-squares uniform scale of the prediction.
- MPJVE: MPJPE of the first time derivative (frame-to-frame differences) of a sequence.
- Bone length error: mean absolute difference of bone lengths.
- Bone direction error: mean Euclidean distance between unit bone directions.
"""

from __future__ import annotations

import numpy as np

from .bones import poses_to_bones


def _check_same_shape(predicted: np.ndarray, target: np.ndarray) -> None:
    if predicted.shape != target.shape:
        raise ValueError(f"predicted has shape {predicted.shape} but target has shape {target.shape}")


def _as_float(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    return x if x.dtype in (np.float32, np.float64) else x.astype(np.float64)


def _mean_over_joints(values: np.ndarray) -> np.ndarray:
    """(..., J) -> (...); a matrix product, much faster than a strided mean over a short axis."""
    return values @ np.full(values.shape[-1], 1.0 / values.shape[-1], dtype=values.dtype)


def _distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distance over the last axis of (..., 3) arrays -> (...)."""
    difference = a - b
    return np.sqrt(np.einsum("...k,...k->...", difference, difference))


def mean_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mean Euclidean distance between matching points of (..., N, 3) arrays -> (...)."""
    _check_same_shape(a, b)
    return _mean_over_joints(_distances(_as_float(a), _as_float(b)))


def mpjpe_per_frame(predicted: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Mean joint distance of poses (..., J, 3) -> (...)."""
    return mean_distance(predicted, target)


def mpjpe(predicted: np.ndarray, target: np.ndarray) -> float:
    """MPJPE (Protocol 1) of poses (..., J, 3), averaged over everything."""
    return float(mpjpe_per_frame(predicted, target).mean(dtype=np.float64))


def _det3(m: np.ndarray) -> np.ndarray:
    return (m[..., 0, 0] * (m[..., 1, 1] * m[..., 2, 2] - m[..., 1, 2] * m[..., 2, 1])
            - m[..., 0, 1] * (m[..., 1, 0] * m[..., 2, 2] - m[..., 1, 2] * m[..., 2, 0])
            + m[..., 0, 2] * (m[..., 1, 0] * m[..., 2, 1] - m[..., 1, 1] * m[..., 2, 0]))


def _rotation_svd(m: np.ndarray) -> np.ndarray:
    """Proper rotation closest to each (N, 3, 3) matrix, by SVD with the determinant fixed."""
    u, _, vt = np.linalg.svd(m)
    sign = np.sign(_det3(u @ vt))
    sign[sign == 0] = 1
    u = u.copy()
    u[..., :, -1] *= sign[..., None]
    return u @ vt


# Matrices below are stored as entry planes: (3, 3, N) holds N matrices, entry (i, j) in a contiguous
# row of N values, so that each step of the 3x3 algebra is one vectorised operation over all N.

def _cube_root_of_magnitude(values: np.ndarray) -> np.ndarray:
    """|values|^(1/3) (float64 array) to float32 precision, plenty for a scaling factor; exp and log
    in float32 are vectorised and several times faster than np.cbrt."""
    return np.exp(np.log(np.abs(values).astype(np.float32)) / 3).astype(np.float64)


def _polar_newton(m: np.ndarray, max_iterations: int, tolerance: float = 1e-6
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Orthogonal polar factors of matrices (3, 3, N) float64 -> (factors (3, 3, N), converged (N,)).

    Newton's iteration X <- (g X + X^-T / g) / 2 (Higham, 1986) with determinant scaling
    g = |det X|^(-1/3) (Kenney & Laub, 1992), g = 1 once every det X - 1 < 1e-2, from
    X = m / |m|_F; X^-T is the cofactor matrix over det X. Matrices with det(m) <= 1e-9 |m|_F^3
    (reflections, near-singular) are iterated but never marked converged. After the first step
    every singular value of X is >= 1, so det X - 1 bounds the distance (2-norm) of X from its
    polar factor: once it is <= ``tolerance``, one more step (quadratic convergence) leaves about
    tolerance^2.
    """
    count = m.shape[-1]
    # wrapped[i, j] = X[i % 3, j % 3]: each cofactor entry is then a product of two shifted views.
    wrapped = np.empty((5, 5, count))
    x = wrapped[:3, :3]
    converged = np.zeros(count, dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):  # zero matrices: their NaNs stay in their columns
        np.divide(m, np.sqrt(np.einsum("ijn,ijn->n", m, m)), out=x)
        for step in range(max_iterations):
            wrapped[3:, :3] = wrapped[:2, :3]
            wrapped[:, 3:] = wrapped[:, :2]
            cofactor = wrapped[1:4, 1:4] * wrapped[2:5, 2:5]
            cofactor -= wrapped[1:4, 2:5] * wrapped[2:5, 1:4]
            det = np.einsum("jn,jn->n", x[0], cofactor[0])
            if step == 0:
                hopeless = ~(det > 1e-9)
            else:
                converged = (det - 1 <= tolerance) & ~hopeless
            if step and (det - 1).max() < 1e-2:  # near the factor g ~ 1: unscaled steps (Higham, 1986)
                cofactor *= 0.5 / det
                x *= 0.5
            else:
                root = _cube_root_of_magnitude(det)  # 1 / g
                cofactor *= 0.5 * root / det
                x *= 0.5 / root
            x += cofactor
            if (converged | hopeless).all():
                break
    return x, converged


def _closest_rotation_planes(m: np.ndarray, iterations: int = 12) -> np.ndarray:
    """closest_rotation of matrices stored as entry planes (3, 3, N) float64 -> (3, 3, N).

    A matrix with a NaN or infinite entry gets a NaN rotation (as MPJPE gives NaN for such poses)
    instead of reaching the SVD, which would fail for the whole batch.
    """
    result, converged = _polar_newton(m, iterations)
    fallback = ~converged
    if fallback.any():
        finite = np.isfinite(m).all(axis=(0, 1))
        result[:, :, fallback & ~finite] = np.nan
        fallback &= finite
        if fallback.any():
            result[:, :, fallback] = _rotation_svd(m[:, :, fallback].transpose(2, 0, 1)).transpose(1, 2, 0)
    return result


def closest_rotation(m: np.ndarray, iterations: int = 12) -> np.ndarray:
    """Proper rotation R (..., 3, 3) maximising trace(R^T m) for each m (..., 3, 3).

    Uses the scaled Newton iteration for the polar factor (Higham, 1986) where det(m) > 0 and the
    iteration converged; the rest go through an SVD with the reflection removed, as in
    VideoPose3D's p_mpjpe. Computed in float64.
    """
    m = np.asarray(m, dtype=np.float64)
    planes = np.ascontiguousarray(m.reshape(-1, 9).T).reshape(3, 3, -1)
    return _closest_rotation_planes(planes, iterations).reshape(9, -1).T.reshape(m.shape)


def _pose_planes(poses: np.ndarray, block: int = 512) -> np.ndarray:
    """Poses (..., J, 3) -> a copy as coordinate planes (J, 3, N), N frames in the leading dims.

    Transposed ``block`` frames at a time, which keeps the source in cache: about 1.8x faster
    than one whole transposed copy for 2,500 frames.
    """
    joints = poses.shape[-2]
    flat = poses.reshape(-1, joints * 3)
    planes = np.empty((joints * 3, len(flat)), dtype=poses.dtype)
    for start in range(0, len(flat), block):
        planes[:, start:start + block] = flat[start:start + block].T
    return planes.reshape(joints, 3, -1)


def _procrustes_planes(predicted: np.ndarray, target: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Best similarity alignment of predicted onto target poses (..., J, 3), as coordinate planes.

    Returns (aligned, target_centred, target_mean): the centred prediction rotated and scaled
    onto the target and the centred target, both (J, 3, N), and the target's mean joint (3, N),
    in the input's float dtype and units. The rotation and scale are found in float64.
    """
    _check_same_shape(predicted, target)
    predicted, target = _as_float(predicted), _as_float(target)
    predicted_planes, target_planes = _pose_planes(predicted), _pose_planes(target)
    predicted_planes -= predicted_planes.mean(axis=0)
    target_mean = target_planes.mean(axis=0)
    target_planes -= target_mean
    cross = np.einsum("jan,jbn->abn", predicted_planes, target_planes).astype(np.float64)  # (3, 3, N)
    rotation = _closest_rotation_planes(cross)  # aligned[j, b] = sum_a predicted[j, a] rotation[a, b]
    trace = np.einsum("abn,abn->n", rotation, cross)
    squared_norm = np.einsum("jan,jan->n", predicted_planes, predicted_planes)
    rotation *= trace / np.maximum(squared_norm, 1e-24)
    transform = rotation.astype(predicted.dtype)
    aligned = np.einsum("jan,abn->jbn", predicted_planes, transform)
    return aligned, target_planes, target_mean


def procrustes_align(predicted: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Predicted poses (..., J, 3) moved by the best similarity transform onto target (..., J, 3)."""
    aligned, _, target_mean = _procrustes_planes(predicted, target)
    aligned += target_mean
    return aligned.reshape(-1, aligned.shape[-1]).T.reshape(predicted.shape)


def p_mpjpe_per_frame(predicted: np.ndarray, target: np.ndarray) -> np.ndarray:
    """P-MPJPE (Protocol 2) of poses (..., J, 3) -> (...), in the input's units and float dtype."""
    aligned, target_centred, _ = _procrustes_planes(predicted, target)
    aligned -= target_centred
    distances = np.einsum("jbn,jbn->jn", aligned, aligned)
    np.sqrt(distances, out=distances)
    return distances.mean(axis=0).reshape(predicted.shape[:-2])


def p_mpjpe(predicted: np.ndarray, target: np.ndarray) -> float:
    return float(p_mpjpe_per_frame(predicted, target).mean(dtype=np.float64))


def n_mpjpe_per_frame(predicted: np.ndarray, target: np.ndarray) -> np.ndarray:
    """N-MPJPE of poses (..., J, 3) -> (...): MPJPE after the least-squares scale of each pose."""
    _check_same_shape(predicted, target)
    predicted, target = _as_float(predicted), _as_float(target)
    numerator = np.einsum("...jk,...jk->...", target, predicted)
    denominator = np.maximum(np.einsum("...jk,...jk->...", predicted, predicted), 1e-24)
    return mpjpe_per_frame((numerator / denominator)[..., None, None] * predicted, target)


def n_mpjpe(predicted: np.ndarray, target: np.ndarray) -> float:
    return float(n_mpjpe_per_frame(predicted, target).mean(dtype=np.float64))


def mpjve(predicted: np.ndarray, target: np.ndarray) -> float:
    """MPJVE of one sequence of poses (T, J, 3): error of frame-to-frame differences (0 if T < 2)."""
    _check_same_shape(predicted, target)
    if len(predicted) < 2:
        return 0.0
    return mpjpe(np.diff(predicted, axis=0), np.diff(target, axis=0))


def bone_length_error_per_frame(predicted: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Mean absolute bone-length difference of poses (..., J, 3) -> (...)."""
    _check_same_shape(predicted, target)
    return _mean_over_joints(np.abs(poses_to_bones(predicted)[1] - poses_to_bones(target)[1]))


def bone_direction_error_per_frame(predicted: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Mean distance between unit bone directions of poses (..., J, 3) -> (...); unitless."""
    _check_same_shape(predicted, target)
    return mean_distance(poses_to_bones(predicted)[0], poses_to_bones(target)[0])
