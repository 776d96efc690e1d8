import numpy as np
import pytest
import torch

from blapose.errors import InputError
from blapose.geometry.camera import h36m_cameras, project_to_2d, viewing_rays
from blapose.geometry.floor import (
    CALIBRATION_SIZE,
    calibration_vector,
    floor_depth,
    mirror_calibration,
    person_plane_points,
    standing_ankle,
    standing_ankle_height,
)
from blapose.lengths.floor_scale import floor_scale_baseline, floor_scale_lengths, frame_scales

ANKLE = 0.08


def standing_people(rng, frames=6):
    """World poses (T, 17, 3) of a person standing at 4-6 m on the right ankle (ANKLE above the floor), left knee bent."""
    from blapose.bones import bones_to_poses
    from blapose.data.motion import CHANNELS, body_directions
    from blapose.data.synthetic import MEAN_LENGTHS

    angles = {name: rng.normal(0.0, 0.15, size=frames) for name in CHANNELS}
    angles["knee_l"] = np.full(frames, 1.4)  # the left foot is clearly raised
    directions = body_directions(angles, rng.uniform(0, 2 * np.pi, size=frames))
    poses = bones_to_poses(directions, MEAN_LENGTHS)
    poses[..., :2] += rng.uniform(-1.0, 1.0, size=(frames, 1, 2))
    poses[..., 2] += ANKLE - poses[:, 3:4, 2]
    assert (poses[:, 6, 2] > ANKLE + 0.2).all()
    return poses


def test_viewing_rays_invert_the_lens_model(rng):
    """Rays through projected points, distortion included, pass through the points (numpy and torch)."""
    camera = h36m_cameras("S9")[0]
    points = rng.normal(size=(5, 17, 3)) * 0.6 + np.array([0.0, 0.0, 5.0])
    keypoints = project_to_2d(points, camera.intrinsic().astype(np.float64))
    rays = viewing_rays(keypoints, camera.intrinsic().astype(np.float64))
    np.testing.assert_allclose(rays, points / points[..., 2:], atol=1e-9)
    with_torch = viewing_rays(torch.tensor(keypoints), torch.tensor(camera.intrinsic(), dtype=torch.float64))
    np.testing.assert_allclose(with_torch.numpy(), rays, atol=1e-12)


def test_calibration_vector_holds_intrinsics_pitch_roll_and_height():
    """The vector is 13 values: the normalised intrinsics, a unit up vector, and the camera's 1.4-1.7 m height."""
    for camera in h36m_cameras("S11"):
        vector = calibration_vector(camera)
        assert vector.shape == (CALIBRATION_SIZE,)
        np.testing.assert_allclose(vector[:9], camera.intrinsic())
        np.testing.assert_allclose(np.linalg.norm(vector[9:12]), 1.0, atol=1e-6)
        assert vector[10] < -0.9  # image y points down, so world up is mostly -y
        assert 1.4 < vector[12] < 1.7


def test_mirrored_calibration_sees_the_mirrored_image(rng):
    """Projecting x-negated points with the mirrored calibration gives the x-negated keypoints."""
    camera = h36m_cameras("S1")[3]
    vector = calibration_vector(camera).astype(np.float64)
    points = rng.normal(size=(4, 17, 3)) * 0.5 + np.array([0.3, 0.1, 4.0])
    mirrored_points = points * np.array([-1.0, 1.0, 1.0])
    mirrored = mirror_calibration(vector)
    expected = project_to_2d(points, vector[:9]) * np.array([-1.0, 1.0])
    np.testing.assert_allclose(project_to_2d(mirrored_points, mirrored[:9]), expected, atol=1e-12)
    np.testing.assert_allclose(mirrored[9:12], vector[9:12] * np.array([-1.0, 1.0, 1.0]))


def test_the_standing_ankle_and_heights_come_back_from_exact_2d(rng):
    """From exact 2D, the standing ankle's 3D position and every joint's height above the floor are recovered."""
    world = standing_people(rng)
    for camera in h36m_cameras("S5"):
        in_camera = camera.world_to_camera(world)
        intrinsic = camera.intrinsic().astype(np.float64)
        vector = calibration_vector(camera).astype(np.float64)
        rays = viewing_rays(project_to_2d(in_camera, intrinsic), intrinsic)
        up, height = vector[9:12], np.full(len(world), vector[12])
        np.testing.assert_allclose(standing_ankle(rays, up, height, ANKLE), in_camera[:, 3], atol=1e-5)
        np.testing.assert_allclose(floor_depth(rays[:, 3], up, height, ANKLE), in_camera[:, 3, 2], atol=1e-5)
        plane = person_plane_points(rays, up, height, ANKLE)
        assert plane.shape == (len(world), 17, 2)
        np.testing.assert_allclose(plane[:, 3, 0], 0.0, atol=1e-5)  # 'across' starts at the standing ankle
        heights = plane[..., 1]
        np.testing.assert_allclose(heights[:, 3], ANKLE, atol=1e-5)
        # joints off the plane come out a little off; the head stays within a few centimetres
        np.testing.assert_allclose(heights[:, 10], world[:, 10, 2], atol=0.05)


def test_standing_ankle_height_is_the_median_lower_ankle():
    """The standing height is the median over frames of the lower of the two ankles' heights."""
    poses = np.zeros((3, 17, 3))
    poses[:, 3, 2] = [0.05, 0.10, 0.30]
    poses[:, 6, 2] = [0.20, 0.07, 0.12]
    assert standing_ankle_height([poses]) == pytest.approx(0.07)
    with pytest.raises(InputError):
        standing_ankle_height([])


@pytest.mark.parametrize("scale", [0.9, 1.0, 1.12])
def test_floor_scale_recovers_a_known_size_from_exact_2d(rng, scale):
    """A body `scale` times the template's, seen exactly, gets that scale back in every frame and video."""
    template_world = standing_people(rng)
    ankle = template_world[:, 3:4]
    world = ankle + scale * (template_world - ankle)  # the bigger body stands on the same ankle
    camera = h36m_cameras("S9")[1]
    keypoints = project_to_2d(camera.world_to_camera(world), camera.intrinsic().astype(np.float64))
    template = camera.world_to_camera(template_world)
    template = template - template[:, :1]  # root-relative, as a lifter gives it
    np.testing.assert_allclose(frame_scales(template, keypoints, camera, ANKLE), scale, atol=0.0015)
    lengths, found = floor_scale_lengths(template, keypoints, camera, ANKLE)
    from blapose.data.synthetic import MEAN_LENGTHS

    assert found == pytest.approx(scale, abs=0.0015)
    np.testing.assert_allclose(lengths, scale * MEAN_LENGTHS, rtol=0.002)


def test_floor_scale_baseline_takes_the_template_lengths_and_checks_its_poses(rng):
    """The baseline resizes each video's poses to the given lengths first, and refuses a video without poses."""
    from blapose.data.h36m import Sequence
    from blapose.data.synthetic import MEAN_LENGTHS

    world = standing_people(rng)
    camera = h36m_cameras("S9")[0]
    in_camera = camera.world_to_camera(world)
    keypoints = project_to_2d(in_camera, camera.intrinsic().astype(np.float64)).astype(np.float32)
    sequence = Sequence("S9", "Posing", 0, camera, in_camera.astype(np.float32), keypoints)
    twice = in_camera * 2.0  # wrong size: the template's lengths replace it
    result = floor_scale_baseline({sequence.key: twice}, [sequence], MEAN_LENGTHS, ANKLE)
    np.testing.assert_allclose(result[sequence.key], MEAN_LENGTHS, rtol=0.003)
    with pytest.raises(InputError):
        floor_scale_baseline({}, [sequence], MEAN_LENGTHS, ANKLE)
    with pytest.raises(InputError):
        frame_scales(in_camera[:, :5], keypoints, camera, ANKLE)
