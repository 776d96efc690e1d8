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


def _human_like_pairs(rng, shape):
    """Root-relative targets spread like a standing body (meters) and predictions 3 cm off."""
    target = rng.normal(size=(*shape, 17, 3)) * np.array([0.2, 0.5, 0.1])
    target -= target[..., :1, :]
    return target + 0.03 * rng.normal(size=target.shape), target


@pytest.mark.parametrize("shape", [(), (1,), (7,), (1, 1), (3, 1), (2, 3, 5)])
def test_p_mpjpe_takes_any_leading_dims_including_single_frames(rng, shape):
    """Per-frame P-MPJPE keeps the leading dims and equals the SVD definition frame by frame."""
    predicted, target = _human_like_pairs(rng, shape)
    errors = metrics.p_mpjpe_per_frame(predicted, target)
    assert errors.shape == shape
    np.testing.assert_allclose(errors.reshape(-1), reference_p_mpjpe_per_frame(predicted.reshape(-1, 17, 3),
                                                                                target.reshape(-1, 17, 3)), atol=1e-12)


def test_p_mpjpe_and_procrustes_align_leave_their_inputs_unchanged(rng):
    """The poses passed in, a single frame included, are not modified."""
    for shape in [(), (1,), (9,)]:
        predicted, target = _human_like_pairs(rng, shape)
        copies = predicted.copy(), target.copy()
        metrics.p_mpjpe_per_frame(predicted, target)
        metrics.procrustes_align(predicted, target)
        np.testing.assert_array_equal(predicted, copies[0])
        np.testing.assert_array_equal(target, copies[1])


def test_p_mpjpe_keeps_float32_and_float64(rng):
    """float32 poses give float32 errors within 0.1 micrometre of the float64 ones."""
    predicted, target = _human_like_pairs(rng, (4, 50))
    single = metrics.p_mpjpe_per_frame(predicted.astype(np.float32), target.astype(np.float32))
    double = metrics.p_mpjpe_per_frame(predicted, target)
    assert single.dtype == np.float32 and double.dtype == np.float64
    reference = reference_p_mpjpe_per_frame(predicted.reshape(-1, 17, 3), target.reshape(-1, 17, 3))
    np.testing.assert_allclose(double, reference.reshape(4, 50), atol=1e-12)
    np.testing.assert_allclose(single, double, atol=1e-7)


def test_p_mpjpe_of_degenerate_and_mirrored_predictions_matches_svd(rng):
    """Flat, collinear and mirrored predictions (det of the cross-covariance <= 0) score as the SVD says."""
    predicted, target = _human_like_pairs(rng, (6,))
    predicted[0, :, 2] = 0.0  # all joints in a plane: rank 2
    predicted[1] = np.outer(np.linspace(-0.5, 0.5, 17), [0.3, 0.9, 0.1])  # on a line: rank 1
    predicted[2] = target[2] * np.array([-1.0, 1.0, 1.0])  # a mirror image: det < 0
    predicted[3] = -target[3]  # a point reflection: det < 0
    predicted[4, :, :] = predicted[4, :1, :]  # one point
    np.testing.assert_allclose(metrics.p_mpjpe_per_frame(predicted, target),
                               reference_p_mpjpe_per_frame(predicted, target), atol=1e-12)


def test_procrustes_align_undoes_a_similarity_transform(rng):
    """Aligning a rotated, scaled and moved copy of the target gives the target back."""
    _, target = _human_like_pairs(rng, (2, 10))
    rotation = Rotation.random(20, random_state=3).as_matrix().reshape(2, 10, 3, 3)
    moved = 0.8 * target @ rotation + np.array([0.5, -0.2, 3.0])
    np.testing.assert_allclose(metrics.procrustes_align(moved, target), target, atol=1e-12)


def test_procrustes_align_leaves_the_p_mpjpe_residual(rng):
    """The distance left after procrustes_align is P-MPJPE, and the aligned pose shares the target's mean."""
    predicted, target = _human_like_pairs(rng, (30,))
    aligned = metrics.procrustes_align(predicted, target)
    np.testing.assert_allclose(metrics.mpjpe_per_frame(aligned, target), reference_p_mpjpe_per_frame(predicted, target),
                               atol=1e-12)
    np.testing.assert_allclose(aligned.mean(axis=-2), target.mean(axis=-2), atol=1e-12)


def test_closest_rotation_is_exact_for_pose_covariances_and_keeps_batch_dims(rng):
    """On pose cross-covariances the Newton result equals the SVD's to 1e-12, with any leading dims."""
    predicted, target = _human_like_pairs(rng, (3, 40))
    centred = [poses - poses.mean(axis=-2, keepdims=True) for poses in (predicted, target)]
    cross = np.swapaxes(centred[0], -1, -2) @ centred[1]
    rotations = metrics.closest_rotation(cross)
    assert rotations.shape == (3, 40, 3, 3)
    np.testing.assert_allclose(rotations, metrics._rotation_svd(cross.reshape(-1, 3, 3)).reshape(3, 40, 3, 3),
                               atol=1e-12)


def test_closest_rotation_handles_reflections_and_singular_matrices(rng):
    """Matrices with det <= 0 (reflections, rank 2, zero) get the SVD's proper rotation."""
    matrices = rng.normal(size=(5, 3, 3))
    matrices[0] *= -1 if np.linalg.det(matrices[0]) > 0 else 1
    matrices[1, 2] = matrices[1, 0] + matrices[1, 1]
    matrices[2] = 0.0
    rotations = metrics.closest_rotation(matrices)
    np.testing.assert_allclose(np.linalg.det(rotations), 1.0, atol=1e-12)
    np.testing.assert_allclose(rotations[[0, 1, 3, 4]], metrics._rotation_svd(matrices[[0, 1, 3, 4]]), atol=1e-12)


def test_shape_mismatch_is_refused(rng):
    """Metrics refuse arrays of different shapes."""
    with pytest.raises(ValueError, match="shape"):
        metrics.mpjpe(rng.normal(size=(3, 17, 3)), rng.normal(size=(4, 17, 3)))


@pytest.mark.filterwarnings("ignore:invalid value encountered")  # inf - inf while centring, as numpy warns
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_p_mpjpe_of_a_non_finite_frame_is_nan_and_the_others_are_exact(rng, dtype):
    """A NaN or infinite joint makes its own frame's P-MPJPE NaN; the rest of the batch is unchanged."""
    target = rng.normal(size=(6, 17, 3)) * 0.3
    predicted = target + rng.normal(size=target.shape) * 0.03
    spoiled = predicted.copy()
    spoiled[1, 4, 2], spoiled[4, 0, 0] = np.nan, np.inf
    errors = metrics.p_mpjpe_per_frame(spoiled.astype(dtype), target.astype(dtype))
    assert np.isnan(errors[[1, 4]]).all()
    clean = [0, 2, 3, 5]
    np.testing.assert_allclose(errors[clean], reference_p_mpjpe_per_frame(predicted[clean], target[clean]),
                               atol=1e-6 if dtype == np.float32 else 1e-12)
