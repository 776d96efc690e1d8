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


def _joint_mean(poses: np.ndarray) -> np.ndarray:
    """(..., J, 3) -> (..., 1, 3) mean joint position."""
    weights = np.full((1, poses.shape[-2]), 1.0 / poses.shape[-2], dtype=poses.dtype)
    return weights @ poses


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


def _frobenius(m: np.ndarray) -> np.ndarray:
    return np.sqrt(np.einsum("...ij,...ij->...", m, m))


def _rotation_svd(m: np.ndarray) -> np.ndarray:
    """Proper rotation closest to each (N, 3, 3) matrix, by SVD with the determinant fixed."""
    u, _, vt = np.linalg.svd(m)
    sign = np.sign(_det3(u @ vt))
    sign[sign == 0] = 1
    u = u.copy()
    u[..., :, -1] *= sign[..., None]
    return u @ vt


def _polar_newton(entries: np.ndarray, max_iterations: int) -> tuple[np.ndarray, bool]:
    """Scaled Newton iteration X <- (g X + X^-T / g) / 2 on matrices stored as (3, 3, N) entries.

    Stops early once no entry moves by more than 1e-12 (quadratic convergence: a few steps) and
    returns (X, whether it stopped so); a fixed point of the iteration is orthogonal.
    """
    x = entries
    for _ in range(max_iterations):
        cofactor = np.empty_like(x)
        for i in range(3):
            i1, i2 = (i + 1) % 3, (i + 2) % 3
            for j in range(3):
                j1, j2 = (j + 1) % 3, (j + 2) % 3
                cofactor[i, j] = x[i1, j1] * x[i2, j2] - x[i1, j2] * x[i2, j1]
        det = x[0, 0] * cofactor[0, 0] + x[0, 1] * cofactor[0, 1] + x[0, 2] * cofactor[0, 2]
        norm_x = np.sqrt(np.einsum("ijn,ijn->n", x, x))
        norm_cofactor = np.sqrt(np.einsum("ijn,ijn->n", cofactor, cofactor))
        gamma = np.sqrt(norm_cofactor / (np.abs(det) * norm_x))
        updated = 0.5 * (gamma * x + cofactor / (gamma * det))
        moved = np.abs(updated - x).max() if x.size else 0.0
        x = updated
        if moved < 1e-12:
            return x, True
    return x, False


def closest_rotation(m: np.ndarray, iterations: int = 12) -> np.ndarray:
    """Proper rotation R (..., 3, 3) maximising trace(R^T m) for each m (..., 3, 3).

    Uses the scaled Newton iteration for the polar factor (Higham, 1986) where det(m) > 0 and the
    iteration converged; the rest go through an SVD with the reflection removed, as in
    VideoPose3D's p_mpjpe. Computed in float64.
    """
    m = np.asarray(m, dtype=np.float64)
    batch_shape = m.shape[:-2]
    flat = m.reshape(-1, 3, 3)
    scale = _frobenius(flat)
    newton = _det3(flat) > 1e-9 * np.maximum(scale, 1e-100) ** 3
    entries = np.ascontiguousarray((flat[newton] / scale[newton][:, None, None]).transpose(1, 2, 0))
    x, all_converged = _polar_newton(entries, iterations)
    x = x.transpose(2, 0, 1)
    converged = newton.copy()
    if not all_converged:  # keep the matrices that did converge; the rest go through the SVD
        converged[newton] = np.abs(np.swapaxes(x, -1, -2) @ x - np.eye(3)).max(axis=(-2, -1)) < 1e-9
    result = np.empty_like(flat)
    result[newton] = x
    fallback = ~converged
    if fallback.any():
        result[fallback] = _rotation_svd(flat[fallback])
    return result.reshape(*batch_shape, 3, 3)


def _procrustes_centered(predicted: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Aligned, centred prediction and centred target, both (..., J, 3)."""
    _check_same_shape(predicted, target)
    predicted, target = _as_float(predicted), _as_float(target)
    predicted_centered = predicted - _joint_mean(predicted)
    target_centered = target - _joint_mean(target)
    cross = np.swapaxes(predicted_centered, -1, -2) @ target_centered  # (..., 3, 3)
    rotation = closest_rotation(cross)  # predicted_centered @ rotation ~ target_centered
    trace = np.einsum("...ij,...ij->...", rotation, cross)
    squared_norm = np.einsum("...jk,...jk->...", predicted_centered, predicted_centered)
    scale = trace / np.maximum(squared_norm, 1e-24)
    transform = (scale[..., None, None] * rotation).astype(predicted.dtype)
    return predicted_centered @ transform, target_centered


def procrustes_align(predicted: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Predicted poses (..., J, 3) moved by the best similarity transform onto target (..., J, 3)."""
    aligned_centered, _ = _procrustes_centered(predicted, target)
    return aligned_centered + _joint_mean(_as_float(target))


def p_mpjpe_per_frame(predicted: np.ndarray, target: np.ndarray) -> np.ndarray:
    """P-MPJPE (Protocol 2) of poses (..., J, 3) -> (...)."""
    return _mean_over_joints(_distances(*_procrustes_centered(predicted, target)))


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
