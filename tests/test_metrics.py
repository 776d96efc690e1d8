import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from blapose import metrics
from reference import reference_p_mpjpe_per_frame




def test_errors_vanish_on_identical_poses(rng):
    """MPJPE, P-MPJPE, N-MPJPE, MPJVE and bone errors are zero for identical input."""
    poses = rng.normal(size=(12, 17, 3))
    assert metrics.mpjpe(poses, poses) == 0
    assert metrics.p_mpjpe(poses, poses) < 1e-9
    assert metrics.n_mpjpe(poses, poses) < 1e-12
    assert metrics.mpjve(poses, poses) == 0
    assert metrics.bone_length_error_per_frame(poses, poses).max() == 0
    assert metrics.bone_direction_error_per_frame(poses, poses).max() == 0


def test_mpjpe_of_a_constant_offset_is_its_length(rng):
    """Shifting every joint by a vector of length 0.05 gives MPJPE 0.05 and MPJVE 0."""
    poses = rng.normal(size=(9, 17, 3))
    shifted = poses + np.array([0.03, 0.0, 0.04])
    assert metrics.mpjpe(shifted, poses) == pytest.approx(0.05)
    assert metrics.mpjve(shifted, poses) == pytest.approx(0.0, abs=1e-12)


def test_p_mpjpe_matches_svd_definition_including_reflections(rng):
    """The fast Procrustes equals the SVD definition, also where the best fit is a reflection."""
    target = rng.normal(size=(400, 17, 3))
    predicted = target + 0.2 * rng.normal(size=target.shape)
    predicted[:50] = rng.normal(size=(50, 17, 3))
    predicted[50:60] = -target[50:60]
    np.testing.assert_allclose(metrics.p_mpjpe_per_frame(predicted, target), reference_p_mpjpe_per_frame(predicted, target),
                               atol=1e-10)


def test_p_mpjpe_of_a_collapsed_pose_is_finite(rng):
    """A prediction with all joints in one point scores the target's spread instead of NaN."""
    target = rng.normal(size=(1, 17, 3))
    error = metrics.p_mpjpe_per_frame(np.zeros_like(target), target)
    np.testing.assert_allclose(error, np.linalg.norm(target - target.mean(1, keepdims=True), axis=-1).mean())


def test_p_mpjpe_is_invariant_to_similarity_transforms(rng):
    """Rotating, scaling and moving the prediction leaves P-MPJPE unchanged."""
    target = rng.normal(size=(30, 17, 3))
    predicted = target + 0.1 * rng.normal(size=target.shape)
    rotation = Rotation.random(random_state=5).as_matrix()
    moved = 1.7 * predicted @ rotation.T + np.array([0.3, -1.0, 2.0])
    np.testing.assert_allclose(metrics.p_mpjpe_per_frame(moved, target), metrics.p_mpjpe_per_frame(predicted, target),
                               atol=1e-10)


def test_p_mpjpe_never_exceeds_mpjpe_and_n_mpjpe_is_scale_invariant(rng):
    """Alignment can only lower the error; N-MPJPE ignores a global scale."""
    target = rng.normal(size=(40, 17, 3))
    predicted = target + 0.2 * rng.normal(size=target.shape)
    assert (metrics.p_mpjpe_per_frame(predicted, target) <= metrics.mpjpe_per_frame(predicted, target) + 1e-12).all()
    np.testing.assert_allclose(metrics.n_mpjpe_per_frame(3.0 * predicted, target),
                               metrics.n_mpjpe_per_frame(predicted, target), atol=1e-12)


def test_closest_rotation_agrees_with_svd(rng):
    """Newton polar iteration and SVD find the same proper rotation."""
    matrices = rng.normal(size=(500, 3, 3))
    rotations = metrics.closest_rotation(matrices)
    np.testing.assert_allclose(np.linalg.det(rotations), 1.0, atol=1e-10)
    np.testing.assert_allclose(rotations, metrics._rotation_svd(matrices), atol=1e-8)


def test_closest_rotation_falls_back_to_svd_when_newton_is_cut_short(rng):
    """With too few Newton steps to converge, every matrix still gets the SVD's rotation."""
    matrices = rng.normal(size=(200, 3, 3))
    np.testing.assert_allclose(metrics.closest_rotation(matrices, iterations=2), metrics._rotation_svd(matrices),
                               atol=1e-8)


def test_float32_and_float64_agree_to_a_micrometre(rng):
    """Working in float32, as the data files are, changes P-MPJPE by far less than 0.1 mm."""
    target = rng.normal(size=(200, 17, 3)) * 0.3
    predicted = target + 0.05 * rng.normal(size=target.shape)
    single = metrics.p_mpjpe_per_frame(predicted.astype(np.float32), target.astype(np.float32))
    np.testing.assert_allclose(single, metrics.p_mpjpe_per_frame(predicted, target), atol=1e-6)


def test_shape_mismatch_is_refused(rng):
    """Metrics refuse arrays of different shapes."""
    with pytest.raises(ValueError, match="shape"):
        metrics.mpjpe(rng.normal(size=(3, 17, 3)), rng.normal(size=(4, 17, 3)))
