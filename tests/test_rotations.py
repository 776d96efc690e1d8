"""Rotation builders (blapose.geometry.rotations): properties that every rotation and each builder must have."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from blapose.geometry.rotations import (
    axis_angle_to_matrix,
    look_at,
    quaternion_between,
    quaternion_to_matrix,
    rotation_between,
    upright_frame,
)

BATCH_SHAPES = [(), (7,), (3, 5)]


def _unit(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    vectors = rng.normal(size=shape + (3,))
    return vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)


def _assert_rotations(matrices: np.ndarray) -> None:
    """Orthonormal with determinant +1, to float64 precision."""
    identity = np.broadcast_to(np.eye(3), matrices.shape)
    np.testing.assert_allclose(matrices @ np.swapaxes(matrices, -1, -2), identity, atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(matrices), 1.0, atol=1e-12)


@pytest.mark.parametrize("shape", BATCH_SHAPES)
def test_every_builder_gives_rotations_with_the_batch_shape(rng, shape):
    """Each builder returns (..., 3, 3) orthonormal matrices of determinant 1 for any leading batch dims."""
    built = [axis_angle_to_matrix(rng.uniform(-4, 4, size=shape), axis) for axis in "xyz"]
    built += [quaternion_to_matrix(rng.normal(size=shape + (4,))),
              rotation_between(_unit(rng, shape), _unit(rng, shape)),
              look_at(rng.normal(size=shape + (3,)), np.array([0.0, 0.0, 1.0])),
              upright_frame(rng.normal(size=shape + (3,)))]
    for matrices in built:
        assert matrices.shape == shape + (3, 3)
        _assert_rotations(matrices)


def test_axis_rotations_follow_the_right_hand_rule():
    """A quarter turn about x takes y to z, about y takes z to x, about z takes x to y; the axis stays."""
    quarter = np.pi / 2
    eye = np.eye(3)
    for axis, (source, target) in zip("xyz", [(1, 2), (2, 0), (0, 1)]):
        matrix = axis_angle_to_matrix(quarter, axis)
        np.testing.assert_allclose(matrix @ eye[source], eye[target], atol=1e-15)
        np.testing.assert_allclose(matrix @ eye["xyz".index(axis)], eye["xyz".index(axis)])
    np.testing.assert_array_equal(axis_angle_to_matrix(np.array([0.3]), 2), axis_angle_to_matrix(np.array([0.3]), "z"))
    with pytest.raises(ValueError):
        axis_angle_to_matrix(0.3, "w")


def test_axis_rotations_add_their_angles(rng):
    """Two turns about one axis compose into one turn by the sum of the angles."""
    first, second = rng.uniform(-3, 3, size=(2, 10))
    for axis in "xyz":
        np.testing.assert_allclose(axis_angle_to_matrix(first, axis) @ axis_angle_to_matrix(second, axis),
                                   axis_angle_to_matrix(first + second, axis), atol=1e-12)


def test_quaternion_to_matrix_matches_scipy_and_ignores_scale(rng):
    """(w, x, y, z) quaternions give scipy's matrices, whatever their length or sign."""
    from scipy.spatial.transform import Rotation

    quaternions = rng.normal(size=(20, 4))
    expected = Rotation.from_quat(np.roll(quaternions, -1, axis=-1)).as_matrix()
    np.testing.assert_allclose(quaternion_to_matrix(quaternions), expected, atol=1e-12)
    np.testing.assert_allclose(quaternion_to_matrix(-3.0 * quaternions), expected, atol=1e-12)
    with pytest.raises(ValueError):
        quaternion_to_matrix(np.ones(3))


@pytest.mark.parametrize("shape", BATCH_SHAPES)
def test_rotation_between_maps_source_onto_target(rng, shape):
    """R @ a == b, and the axis a x b is left in place (the shortest arc)."""
    source, target = _unit(rng, shape), _unit(rng, shape)
    matrices = rotation_between(source, target)
    np.testing.assert_allclose(np.einsum("...ij,...j->...i", matrices, source), target, atol=1e-12)
    axis = np.cross(source, target)
    np.testing.assert_allclose(np.einsum("...ij,...j->...i", matrices, axis), axis, atol=1e-12)


def test_rotation_between_handles_equal_and_opposite_vectors_and_broadcasts(rng):
    """Equal vectors give the identity, opposite ones a half turn; one source broadcasts over many targets."""
    source = _unit(rng, ())
    targets = np.stack([source, -source, _unit(rng, ())])
    matrices = rotation_between(source, targets)
    assert matrices.shape == (3, 3, 3)
    np.testing.assert_allclose(matrices[0], np.eye(3), atol=1e-12)
    np.testing.assert_allclose(matrices @ source, targets, atol=1e-12)
    for axis in np.eye(3):  # a source along a coordinate axis still finds a perpendicular axis
        np.testing.assert_allclose(rotation_between(axis, -axis) @ axis, -axis, atol=1e-12)
    quaternions = quaternion_between(source, targets)
    np.testing.assert_allclose(np.linalg.norm(quaternions, axis=-1), 1.0)


def test_look_at_points_the_view_axis_along_forward_and_keeps_up_up(rng):
    """Row 3 is the unit viewing direction; the world's up has no x and a negative y in view coordinates."""
    up = np.array([0.0, 0.0, 1.0])
    forward = rng.normal(size=(30, 3))
    matrices = look_at(forward, up)
    np.testing.assert_allclose(matrices[:, 2], forward / np.linalg.norm(forward, axis=-1, keepdims=True))
    up_in_view = matrices @ up
    np.testing.assert_allclose(up_in_view[:, 0], 0.0, atol=1e-12)
    assert (up_in_view[:, 1] < 0).all()  # image y points down


def test_upright_frame_puts_up_on_y_and_keeps_x_near_x(rng):
    """R @ up is +y; the frame's x axis has no component along up and a positive x; up along x still works."""
    up = rng.normal(size=(30, 3))
    matrices = upright_frame(up)
    np.testing.assert_allclose(np.einsum("nij,nj->ni", matrices, up / np.linalg.norm(up, axis=-1, keepdims=True)),
                               np.broadcast_to([0.0, 1.0, 0.0], (30, 3)), atol=1e-12)
    assert (matrices[:, 0, 0] >= 0).all()
    _assert_rotations(upright_frame(np.array([2.0, 0.0, 0.0])))


def test_torch_and_numpy_give_the_same_rotations(rng):
    """Every builder takes torch tensors, returns tensors, and agrees with its numpy result."""
    angle, quaternion = rng.normal(size=5), rng.normal(size=(5, 4))
    source, target, vector = _unit(rng, (5,)), _unit(rng, (5,)), rng.normal(size=(5, 3))
    up = np.array([0.0, 0.0, 1.0])
    pairs = [(axis_angle_to_matrix(angle, "y"), axis_angle_to_matrix(torch.tensor(angle), "y")),
             (quaternion_to_matrix(quaternion), quaternion_to_matrix(torch.tensor(quaternion))),
             (rotation_between(source, target), rotation_between(torch.tensor(source), torch.tensor(target))),
             (look_at(vector, up), look_at(torch.tensor(vector), torch.tensor(up))),
             (upright_frame(vector), upright_frame(torch.tensor(vector)))]
    for expected, found in pairs:
        assert isinstance(found, torch.Tensor)
        np.testing.assert_allclose(found.numpy(), expected, atol=1e-12)
