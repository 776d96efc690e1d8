"""Pinhole geometry of videos: focal length, the trajectory, MediaPipe's 3D on the 2D rays, the low-pass."""

from __future__ import annotations

import math

import numpy as np
import pytest

from blapose.errors import InputError
from blapose.geometry.camera import viewing_rays
from blapose.video.geometry import (
    DEFAULT_FOV_LONG_SIDE_DEG,
    focal_length,
    low_pass,
    pinhole_intrinsic,
    poses_on_rays,
    root_trajectory,
)

WIDTH, HEIGHT, FOCAL = 1080, 1920, 1500.0


def _project(points: np.ndarray) -> np.ndarray:
    """Pixels (..., 2) of camera-frame points (..., 3) through the test camera."""
    return points[..., :2] / points[..., 2:] * FOCAL + np.array([WIDTH / 2, HEIGHT / 2])


def _walk(rng: np.random.Generator, frames: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """Root-relative poses (T, 17, 3) of a rigid random body and a root path (T, 3) 3-6 m away."""
    body = rng.normal(0.0, 0.25, size=(17, 3))
    body -= body[0]
    poses = np.repeat(body[None], frames, axis=0)
    path = np.stack([np.linspace(-1.0, 1.0, frames), np.full(frames, 0.3), np.linspace(3.0, 6.0, frames)], axis=1)
    return poses, path


def test_focal_length_from_field_of_view():
    """--fov 90 across the 1920-pixel side is a 960-pixel focal length; --focal wins; both refused."""
    assert focal_length(WIDTH, HEIGHT, fov=90.0) == pytest.approx(960.0)
    assert focal_length(WIDTH, HEIGHT, focal=1234.0) == 1234.0
    default = 2 * math.degrees(math.atan(HEIGHT / 2 / focal_length(WIDTH, HEIGHT)))
    assert default == pytest.approx(DEFAULT_FOV_LONG_SIDE_DEG)
    with pytest.raises(InputError):
        focal_length(WIDTH, HEIGHT, focal=1000.0, fov=60.0)
    with pytest.raises(InputError):
        focal_length(WIDTH, HEIGHT, fov=0.0)


def test_viewing_rays_pass_through_their_pixels(rng):
    """A point on the ray of a pixel projects back onto that pixel."""
    pixels = rng.uniform(0, 1000, size=(5, 2))
    rays = viewing_rays(pixels, pinhole_intrinsic(FOCAL, WIDTH, HEIGHT))
    np.testing.assert_allclose(_project(rays * 3.7), pixels)


def test_root_trajectory_recovers_the_path_from_exact_2d(rng):
    """Metric poses and their exact projections give the root's path back to 1e-9 m."""
    poses, path = _walk(rng)
    keypoints = _project(poses + path[:, None])
    found = root_trajectory(poses, keypoints, np.ones(poses.shape[:2]), FOCAL, WIDTH, HEIGHT)
    np.testing.assert_allclose(found, path, atol=1e-9)


def test_trajectory_depth_scales_with_the_bodys_size(rng):
    """A body 10 % larger seen through the same 2D stands 10 % farther away."""
    poses, path = _walk(rng)
    keypoints = _project(poses + path[:, None])
    larger = root_trajectory(poses * 1.1, keypoints, np.ones(poses.shape[:2]), FOCAL, WIDTH, HEIGHT)
    np.testing.assert_allclose(larger[:, 2] / path[:, 2], 1.1, rtol=1e-6)


def test_poses_on_rays_keep_exact_3d_and_correct_its_image_position(rng):
    """Exact 3D stays exact; 3D with sideways errors is pulled onto the 2D, its depths kept."""
    poses, path = _walk(rng)
    keypoints = _project(poses + path[:, None])
    scores = np.ones(poses.shape[:2])
    np.testing.assert_allclose(poses_on_rays(poses, keypoints, scores, FOCAL, WIDTH, HEIGHT), poses, atol=1e-9)
    noisy = poses + np.concatenate([rng.normal(0, 0.03, poses.shape[:2] + (2,)), np.zeros(poses.shape[:2] + (1,))], -1)
    noisy -= noisy[:, :1]
    fixed = poses_on_rays(noisy, keypoints, scores, FOCAL, WIDTH, HEIGHT)
    assert np.abs(fixed - poses).mean() < 0.3 * np.abs(noisy - poses).mean()


def test_unseen_joints_keep_the_3d_guess(rng):
    """A joint with score 0 is left where the 3D put it (relative to the fitted root)."""
    poses, path = _walk(rng)
    keypoints = _project(poses + path[:, None])
    keypoints[:, 5] += 80.0  # a wrong 2D for joint 5
    scores = np.ones(poses.shape[:2])
    scores[:, 5] = 0.0
    fixed = poses_on_rays(poses, keypoints, scores, FOCAL, WIDTH, HEIGHT)
    np.testing.assert_allclose(fixed, poses, atol=1e-9)


def test_low_pass_keeps_slow_motion_and_removes_jitter(rng):
    """A 1 Hz sine at 60 fps passes (within 2 %), 20 Hz jitter on it is cut to under a tenth."""
    times = np.arange(240) / 60
    slow = np.sin(2 * np.pi * times)
    jitter = 0.2 * np.sin(2 * np.pi * 20 * times)
    filtered = low_pass((slow + jitter)[:, None], 60.0)[:, 0]
    assert np.abs(filtered - slow)[20:-20].max() < 0.02 + 0.1 * 0.2
    np.testing.assert_allclose(low_pass(slow[:, None], 10.0), slow[:, None])  # 6 Hz >= Nyquist: unchanged
