import numpy as np
import pytest
import torch

from blapose.errors import InputError
from blapose.geometry.camera import (
    camera_to_world,
    h36m_cameras,
    image_coordinates,
    normalize_screen_coordinates,
    project_to_2d,
    world_to_camera,
)
from blapose.geometry.rotations import quaternion_to_matrix


def test_quaternion_matrix_is_a_rotation(rng):
    """Quaternions map to orthonormal matrices with determinant +1."""
    matrices = quaternion_to_matrix(rng.normal(size=(20, 4)))
    np.testing.assert_allclose(matrices @ np.swapaxes(matrices, -1, -2), np.broadcast_to(np.eye(3), (20, 3, 3)),
                               atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(matrices), 1.0)


def test_world_camera_round_trip(rng):
    """camera_to_world inverts world_to_camera for every Human3.6M camera."""
    points = rng.normal(size=(10, 17, 3))
    for camera in h36m_cameras("S11"):
        np.testing.assert_allclose(camera.camera_to_world(camera.world_to_camera(points)), points, atol=1e-12)


def test_subject_in_front_of_every_camera():
    """A person standing at the world origin is 4-6 m in front of each camera and inside its image."""
    for subject in ("S1", "S9"):
        for camera in h36m_cameras(subject):
            hip = camera.world_to_camera(np.array([[0.0, 0.0, 0.9]]))
            assert 4.0 < hip[0, 2] < 6.0
            pixels = project_to_2d(hip, camera.intrinsic_pixels())
            assert (pixels > 0).all() and (pixels[0, 0] < camera.res_w) and (pixels[0, 1] < camera.res_h)


def test_projection_numpy_equals_torch_and_normalised_equals_pixels(rng):
    """One projection formula: numpy, torch, pixel and normalised intrinsics agree."""
    camera = h36m_cameras("S9")[2]
    points = rng.normal(size=(6, 17, 3)) * 0.5 + np.array([0, 0, 5.0])
    normalized = project_to_2d(points, camera.intrinsic().astype(np.float64))
    with_torch = project_to_2d(torch.tensor(points), torch.tensor(camera.intrinsic()[None].repeat(6, 0)))
    np.testing.assert_allclose(with_torch.numpy(), normalized, atol=1e-6)
    pixels = project_to_2d(points, camera.intrinsic_pixels())
    np.testing.assert_allclose(normalize_screen_coordinates(pixels, camera.res_w, camera.res_h), normalized, atol=1e-6)


def test_principal_point_on_the_optical_axis():
    """A point on the optical axis projects onto the principal point, whatever the distortion."""
    camera = h36m_cameras("S5")[1]
    pixels = project_to_2d(np.array([[0.0, 0.0, 4.0]]), camera.intrinsic_pixels())
    np.testing.assert_allclose(pixels[0], camera.center)


def test_distortion_free_projection_is_pinhole(rng):
    """With zero distortion the projection is f * x / z + c."""
    points = rng.uniform(-0.5, 0.5, size=(10, 3)) + np.array([0, 0, 4.0])
    intrinsic = np.array([1000.0, 990.0, 500.0, 510.0, 0, 0, 0, 0, 0])
    expected = points[:, :2] / points[:, 2:] * [1000.0, 990.0] + [500.0, 510.0]
    np.testing.assert_allclose(project_to_2d(points, intrinsic), expected)


def test_screen_normalisation_round_trip(rng):
    """image_coordinates inverts normalize_screen_coordinates; width maps onto [-1, 1]."""
    pixels = rng.uniform(0, 1000, size=(5, 2))
    np.testing.assert_allclose(image_coordinates(normalize_screen_coordinates(pixels, 1000, 1002), 1000, 1002), pixels)
    np.testing.assert_allclose(normalize_screen_coordinates(np.array([[0.0, 0.0], [1000.0, 0.0]]), 1000, 1002)[:, 0],
                               [-1.0, 1.0])


def test_unknown_subject_is_a_clear_error():
    """Subjects without calibration raise InputError naming them."""
    with pytest.raises(InputError, match="S3"):
        h36m_cameras("S3")


def test_world_to_camera_accepts_torch(rng):
    """The frame change works on tensors too."""
    camera = h36m_cameras("S1")[0]
    points = rng.normal(size=(4, 3))
    as_tensor = world_to_camera(torch.tensor(points), np.array(camera.orientation), np.array(camera.translation))
    np.testing.assert_allclose(as_tensor.numpy(), camera.world_to_camera(points))
    back = camera_to_world(as_tensor, np.array(camera.orientation), np.array(camera.translation))
    np.testing.assert_allclose(back.numpy(), points, atol=1e-12)
