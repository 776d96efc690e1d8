"""Tests of the OpenCV skeleton renderer (blapose.viz.render)."""

from __future__ import annotations

import numpy as np
import pytest

from blapose.data.motion import simulate_action
from blapose.data.synthetic import MEAN_LENGTHS
from blapose.errors import InputError
from blapose.geometry.camera import h36m_cameras, project_to_2d
from blapose.skeleton import H36M
from blapose.viz.render import (
    CAMERA_UP,
    PERSON_COLOURS,
    VIEW_ASPECT,
    VIEWS,
    PersonFrame,
    PersonTrack,
    PoseVideoWriter,
    estimate_up,
    write_people_video,
    write_pose_video,
)

cv2 = pytest.importorskip("cv2")

HEAD, RFOOT, LFOOT = (H36M.joint_names.index(name) for name in ("Head", "RFoot", "LFoot"))
RHIP, RKNEE, LHIP, LKNEE = (H36M.joint_names.index(name) for name in ("RHip", "RKnee", "LHip", "LKnee"))


def rotation_x(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def rotation_z(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


@pytest.fixture(scope="module")
def walk():
    """(poses (T, 17, 3) meters, camera frame; keypoints (T, 17, 2) pixels; camera) of a short walk."""
    world = simulate_action("Walking", MEAN_LENGTHS, 30, np.random.default_rng(3))
    camera = h36m_cameras("S9")[1]
    poses = camera.world_to_camera(world.astype(np.float64))
    return poses, project_to_2d(poses, camera.intrinsic_pixels()), camera


def squat_facing_the_camera() -> np.ndarray:
    """(J, 3) meters, camera frame of a level camera: thighs horizontal towards the camera, shins vertical."""
    joints = {"Hip": (0, 0, 0), "RHip": (-0.13, 0, 0), "LHip": (0.13, 0, 0),
              "RKnee": (-0.13, 0, -0.45), "LKnee": (0.13, 0, -0.45),
              "RFoot": (-0.13, 0.45, -0.45), "LFoot": (0.13, 0.45, -0.45),
              "Spine": (0, -0.25, 0), "Thorax": (0, -0.5, 0), "Neck/Nose": (0, -0.6, 0), "Head": (0, -0.7, 0),
              "LShoulder": (0.17, -0.5, 0), "LElbow": (0.2, -0.25, 0), "LWrist": (0.2, 0, 0),
              "RShoulder": (-0.17, -0.5, 0), "RElbow": (-0.2, -0.25, 0), "RWrist": (-0.2, 0, 0)}
    return np.array([joints[name] for name in H36M.joint_names], dtype=np.float64) + np.array([0.0, 0.0, 4.0])


def knee_angles(pixels: np.ndarray) -> np.ndarray:
    """Angles (degrees) hip-knee-foot of the right and left leg in drawn pixels (J, 2)."""
    angles = []
    for hip, knee, foot in ((RHIP, RKNEE, RFOOT), (LHIP, LKNEE, LFOOT)):
        thigh, shin = pixels[hip] - pixels[knee], pixels[foot] - pixels[knee]
        cosine = thigh @ shin / (np.linalg.norm(thigh) * np.linalg.norm(shin))
        angles.append(np.degrees(np.arccos(np.clip(cosine, -1, 1))))
    return np.array(angles)


def view_columns(writer: PoseVideoWriter, image: np.ndarray, panel: int, view: int) -> np.ndarray:
    """The pixels (H, view width, 3) of one view of one panel of a drawn frame."""
    x0 = writer.view_origin(panel, view)
    return image[:, x0:x0 + writer.view_width]


def read_video(path):
    """All frames (N, H, W, 3) and the frame rate of a video file."""
    from blapose.video.reader import probe_video, read_frames

    return np.stack(list(read_frames(path))), probe_video(path).fps


def test_video_has_one_frame_per_pose_at_the_given_rate_and_size(tmp_path, walk):
    """The mp4 read back has T frames, the fps asked for, and the frame panel plus two views per pose."""
    poses, keypoints, camera = walk
    frames = (np.full((camera.res_h, camera.res_w, 3), 80, np.uint8) for _ in range(len(poses)))
    path = write_pose_video(tmp_path / "clip.mp4", {"a": poses, "b": poses * 1.1}, fps=12.5, frames=frames,
                            keypoints_2d=keypoints, height=240)
    video, fps = read_video(path)
    frame_width = round(camera.res_w * 240 / camera.res_h) // 2 * 2
    view_width = int(240 * VIEW_ASPECT) // 2 * 2
    assert video.shape == (len(poses), 240, frame_width + 2 * len(VIEWS) * view_width, 3)
    assert fps == pytest.approx(12.5)


def test_overlay_draws_all_poses_in_one_panel(tmp_path, walk):
    """With overlay and no frames the video is a single panel: one front and one side view."""
    poses, _, _ = walk
    path = write_pose_video(tmp_path / "overlay.mp4", {"lifter": poses, "adjusted": poses}, fps=50,
                            overlay=True, faint=["lifter"], height=200)
    video, _ = read_video(path)
    assert video.shape == (len(poses), 200, len(VIEWS) * (int(200 * VIEW_ASPECT) // 2 * 2), 3)


def test_overlay_draws_the_faint_pose_paler_in_both_views(walk):
    """In the overlay each view shows the faint pose, in lighter pixels than the solid pose."""
    poses, _, _ = walk
    writer = PoseVideoWriter("unused.mp4", ["lifter", "adjusted"], 50, estimate_up(poses), overlay=True,
                             faint=["lifter"], height=240)
    hidden = np.full_like(poses[0], np.nan)
    background = writer.draw([PersonFrame({"lifter": hidden, "adjusted": hidden})]).copy()
    faint = writer.draw([PersonFrame({"lifter": poses[0], "adjusted": hidden})]).copy()
    solid = writer.draw([PersonFrame({"lifter": hidden, "adjusted": poses[0]})]).copy()
    for view in range(len(VIEWS)):
        empty = view_columns(writer, background, 0, view)
        drawn = {}
        for name, image in (("faint", faint), ("solid", solid)):
            pixels = view_columns(writer, image, 0, view)
            changed = (pixels != empty).any(axis=-1)
            assert changed.sum() > 100, f"{name} pose missing from view {VIEWS[view][0]}"
            drawn[name] = pixels[changed].astype(int).sum(axis=-1).min()
        assert drawn["faint"] > drawn["solid"] + 100


def test_side_view_shows_the_bent_knees_of_a_squat_facing_the_camera():
    """Thighs pointing at the camera look straight in the front view and bent about 90 degrees in the side view."""
    writer = PoseVideoWriter("unused.mp4", ["pose"], 50, CAMERA_UP, height=480)
    front, side = writer.pose_pixels(squat_facing_the_camera())
    assert (knee_angles(front) > 160).all()
    assert (np.abs(knee_angles(side) - 90) < 15).all()
    thigh_front = np.linalg.norm(front[RKNEE] - front[RHIP])
    thigh_side = np.linalg.norm(side[RKNEE] - side[RHIP])
    assert thigh_front < 0.25 * thigh_side


def test_front_view_is_the_cameras_view_upright_and_side_view_shares_its_rows(walk):
    """At elevation 0 a level camera's front view is its x/y (orthographic); the side view has the same rows."""
    poses, _, _ = walk
    writer = PoseVideoWriter("unused.mp4", ["pose"], 50, CAMERA_UP, elevation_deg=0.0, height=300)
    for pose in poses[::5]:
        front, side = writer.pose_pixels(pose)
        relative = pose - pose[0]
        lowest = relative[:, 1].max()
        np.testing.assert_allclose(front[:, 0], writer.view_width / 2 + writer.scale * relative[:, 0], atol=0.51)
        np.testing.assert_allclose(front[:, 1], writer.floor_row + writer.scale * (relative[:, 1] - lowest),
                                   atol=0.51)
        np.testing.assert_array_equal(front[:, 1], side[:, 1])
        assert side[0, 0] == writer.view_width // 2


def test_a_view_draws_only_within_its_own_columns(walk):
    """An arm reaching 3 m across leaves the neighbouring panel blank; a pose with NaN is not drawn."""
    poses, _, _ = walk
    reaching = poses[0].copy()
    reaching[H36M.joint_names.index("RWrist")] = reaching[0] + np.array([3.0, 0.0, 3.0])
    writer = PoseVideoWriter("unused.mp4", ["left", "right"], 50, estimate_up(poses), height=200)
    image = writer.draw([PersonFrame({"left": reaching, "right": np.full_like(reaching, np.nan)})])
    for view in range(len(VIEWS)):
        np.testing.assert_array_equal(view_columns(writer, image, 1, view),
                                      view_columns(writer, writer.background, 1, view))


def test_estimate_up_follows_a_camera_tilt(walk):
    """Up is about the camera's -y for a level Human3.6M camera and turns with a tilted camera."""
    poses, _, _ = walk
    up = estimate_up(poses)
    assert np.degrees(np.arccos(np.dot(up, CAMERA_UP))) < 15
    tilt = rotation_z(0.4) @ rotation_x(0.5)
    np.testing.assert_allclose(estimate_up(poses @ tilt.T), tilt @ up, atol=1e-9)


def test_tilted_camera_renders_the_same_skeleton(walk):
    """Poses seen by a pitched and rolled camera are drawn within 3 pixels of the level camera's drawing.

    (Not exactly: pitching about an axis that is not quite level turns the camera's heading a little.)
    """
    poses, _, _ = walk
    tilt = rotation_z(-0.3) @ rotation_x(0.45)
    tilted = poses @ tilt.T
    level_writer = PoseVideoWriter("unused.mp4", ["pose"], 50, estimate_up(poses))
    tilted_writer = PoseVideoWriter("unused.mp4", ["pose"], 50, estimate_up(tilted))
    for pose, tilted_pose in zip(poses, tilted):
        level = level_writer.pose_pixels(pose)
        turned = tilted_writer.pose_pixels(tilted_pose)
        assert np.abs(level - turned).max() <= 3


def test_feet_are_drawn_below_the_head_even_upside_down(walk):
    """A camera held upside down (rolled 180 degrees) still gives both views a skeleton with its head on top."""
    poses, _, _ = walk
    flipped = poses @ rotation_z(np.pi).T
    writer = PoseVideoWriter("unused.mp4", ["pose"], 50, estimate_up(flipped))
    for pose in flipped:
        for pixels in writer.pose_pixels(pose):
            assert pixels[HEAD, 1] < min(pixels[RFOOT, 1], pixels[LFOOT, 1])


def test_too_few_frames_leave_no_file(tmp_path, walk):
    """A video shorter than the poses raises InputError and leaves no output or temporary file."""
    poses, _, camera = walk
    frames = [np.zeros((camera.res_h, camera.res_w, 3), np.uint8)] * 5
    with pytest.raises(InputError, match="5 frames"):
        write_pose_video(tmp_path / "clip.mp4", {"pose": poses}, fps=50, frames=frames, height=120)
    assert list(tmp_path.iterdir()) == []


def test_mismatched_pose_lengths_are_refused(tmp_path, walk):
    """Poses of different frame counts are refused with a message naming them."""
    poses, _, _ = walk
    with pytest.raises(InputError, match="frame count"):
        write_pose_video(tmp_path / "clip.mp4", {"a": poses, "b": poses[:-1]}, fps=50)
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def dataset_files(h36m_data_dir, tmp_path):
    """(data folder, predictions.npz, lengths_dict.npz, true poses) for the video S9/Walking/1 of the tiny dataset."""
    from blapose.data.h36m import load_poses_3d
    from blapose.data.predictions import write_predictions_npz
    from blapose.evaluation.adjust import ground_truth_root_relative
    from blapose.lengths.io import save_lengths

    key = ("S9", "Walking", 1)
    truth = ground_truth_root_relative(load_poses_3d(h36m_data_dir / "data_3d_h36m.npz"), [key])[key]
    predicted = truth + np.random.default_rng(0).normal(0, 0.02, truth.shape).astype(np.float32)
    predicted -= predicted[:, :1]
    predictions = write_predictions_npz(tmp_path / "predictions.npz", {key: predicted})
    every_camera = {("S9", "Walking", camera): np.full(16, 0.3, np.float32) for camera in range(4)}
    save_lengths(every_camera, tmp_path / "lengths_dict.npz", tmp_path / "lengths_list.npz")
    return h36m_data_dir, predictions, tmp_path / "lengths_dict.npz", truth


def test_render_command_draws_prediction_adjusted_and_truth(dataset_files, tmp_path):
    """`blapose render` writes one frame per pose at --fps, three panels of a front and a side view."""
    from blapose.cli import main

    data_dir, predictions, lengths, truth = dataset_files
    out = tmp_path / "clip.mp4"
    code = main(["render", "--pred", str(predictions), "--key", "S9/Walking/1", "--gt", str(data_dir / "data_3d_h36m.npz"),
                 "--lengths", str(lengths), "--out", str(out), "--height", "160", "--fps", "25"])
    assert code == 0
    video, fps = read_video(out)
    assert video.shape == (len(truth), 160, 3 * len(VIEWS) * (int(160 * VIEW_ASPECT) // 2 * 2), 3)
    assert fps == pytest.approx(25)


def test_render_command_refuses_an_unknown_video_in_one_line(dataset_files, tmp_path, capsys):
    """A --key missing from the predictions gives one error line, exit code 2 and no file."""
    from blapose.cli import main

    _, predictions, _, _ = dataset_files
    out = tmp_path / "clip.mp4"
    assert main(["render", "--pred", str(predictions), "--key", "S9/Jumping/0", "--out", str(out)]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "S9/Jumping/0" in error
    assert not out.exists()


def test_dataset_camera_up_points_to_the_sky():
    """The up of a Human3.6M camera is close to the camera's -y axis (the cameras are nearly level)."""
    from blapose.cli.render import camera_up

    for camera in range(4):
        assert np.dot(camera_up("S9", camera), CAMERA_UP) > np.cos(np.radians(25))
    assert camera_up("nobody", 0) is None


def colour_mask(image: np.ndarray, colours, tolerance: float = 70.0) -> np.ndarray:
    """(H, W) bool: pixels within ``tolerance`` (BGR distance) of any of ``colours``."""
    distances = [np.linalg.norm(image.astype(float) - np.array(colour, float), axis=-1) for colour in colours]
    return np.min(distances, axis=0) < tolerance


@pytest.fixture(scope="module")
def two_people(walk):
    """(people, camera, frame count): person 1 left and far, person 2 right and near, followed from frame 10."""
    poses, _, camera = walk
    relative = poses - poses[:, :1]
    places = {1: np.array([-1.0, 0.3, 5.0]), 2: np.array([1.0, 0.3, 3.5])}
    people = []
    for number, first in ((1, 0), (2, 10)):
        trajectory = np.tile(places[number], (len(poses) - first, 1))
        absolute = relative[first:] + trajectory[:, None]
        people.append(PersonTrack(number, np.arange(first, len(poses)), {"adjusted": absolute},
                                  project_to_2d(absolute, camera.intrinsic_pixels()), trajectory=trajectory))
    return people, camera, len(poses)


def test_two_people_are_drawn_in_their_colours_where_they_stand(tmp_path, two_people):
    """Each person's colour is near their 2D keypoints, and in the 3D views on the side their trajectory says."""
    people, camera, count = two_people
    frames = (np.full((camera.res_h, camera.res_w, 3), 128, np.uint8) for _ in range(count))
    path = write_people_video(tmp_path / "two.mp4", people, fps=25, frames=frames, height=360)
    video, _ = read_video(path)
    assert len(video) == count
    writer = PoseVideoWriter("unused.mp4", ["adjusted"], 25, CAMERA_UP, frame_size=(camera.res_w, camera.res_h),
                             height=360)
    image = video[20]
    ratio = writer.frame_width / camera.res_w
    columns = {}
    for slot, person in enumerate(people):
        mask = colour_mask(image, PERSON_COLOURS[slot])
        x0, y0 = (person.keypoints_2d[20 - person.frames[0]].min(axis=0) * ratio).astype(int) - 5
        x1, y1 = (person.keypoints_2d[20 - person.frames[0]].max(axis=0) * ratio).astype(int) + 5
        assert mask[y0:y1, x0:x1].sum() > 30, f"person {person.number} missing near their 2D keypoints"
        assert mask[:, :writer.frame_width].sum() < 2 * mask[y0:y1, x0:x1].sum()  # mostly there
        columns[slot] = [np.nonzero(view_columns(writer, mask[..., None], 0, view)[..., 0])[1].mean()
                         for view in range(len(VIEWS))]
    assert columns[0][0] < columns[1][0] - 20, "front view: person 1 (x = -1 m) should be left of person 2"
    assert columns[0][1] > columns[1][1] + 20, "side view (from the right): the farther person 1 should be right"


def test_a_person_is_drawn_only_in_their_own_frames(tmp_path, two_people):
    """Person 2, followed from frame 10, has no pixel of their colour in any panel of frame 5."""
    people, camera, count = two_people
    path = write_people_video(tmp_path / "two.mp4", people, fps=25, frame_size=(camera.res_w, camera.res_h),
                              height=240)
    video, _ = read_video(path)
    assert len(video) == count
    assert colour_mask(video[5], PERSON_COLOURS[1]).sum() == 0
    assert colour_mask(video[5], PERSON_COLOURS[0]).sum() > 50
    assert colour_mask(video[15], PERSON_COLOURS[1]).sum() > 50


def test_people_without_trajectories_stand_side_by_side_in_order(tmp_path, two_people):
    """Without trajectories person 1 is drawn left of person 2 in the front view, whatever their poses' own places."""
    people, _, count = two_people
    mirrored = [PersonTrack(person.number, person.frames, {"adjusted": person.poses["adjusted"] * [-1, 1, 1]})
                for person in people]
    path = write_people_video(tmp_path / "two.mp4", mirrored, fps=25, height=240)
    video, _ = read_video(path)
    writer = PoseVideoWriter("unused.mp4", ["adjusted"], 25, CAMERA_UP, height=240)
    front = view_columns(writer, video[20], 0, 0)
    columns = [np.nonzero(colour_mask(front, PERSON_COLOURS[slot]))[1] for slot in range(2)]
    assert columns[0].max() < columns[1].min()


def band(shape: tuple[int, int], start, end, width: int = 7) -> np.ndarray:
    """(H, W) bool: pixels within ``width`` / 2 of the segment start-end."""
    mask = np.zeros(shape, np.uint8)
    cv2.line(mask, tuple(int(v) for v in start), tuple(int(v) for v in end), 1, width)
    return mask.astype(bool)


def test_bones_of_an_unseen_joint_are_drawn_fainter_in_2d_and_3d(walk):
    """With the right foot unseen only its shin changes (in the frame panel and both views), drawn paler."""
    poses, keypoints, camera = walk
    writer = PoseVideoWriter("unused.mp4", ["pose"], 50, estimate_up(poses),
                             frame_size=(camera.res_w, camera.res_h), height=480)
    seen = np.ones(H36M.num_joints, bool)
    unseen = seen.copy()
    unseen[RFOOT] = False
    images = {}
    for name, visible in (("seen", seen), ("unseen", unseen)):
        images[name] = writer.draw([PersonFrame({"pose": poses[0]}, keypoints[0], visible)]).astype(int).copy()
    darkness = {name: 765 - image.sum(axis=-1) for name, image in images.items()}
    changed = (images["seen"] != images["unseen"]).any(axis=-1)
    ratio = writer.frame_width / camera.res_w
    drawings = [(0, writer.frame_width, keypoints[0] * ratio)]  # (first column, end column, (J, 2) pixels)
    drawings += [(writer.view_origin(0, view), writer.view_origin(0, view) + writer.view_width, pixels)
                 for view, pixels in enumerate(writer.pose_pixels(poses[0]))]
    for x0, x1, pixels in drawings:
        region = np.zeros_like(changed)
        region[:, x0:x1] = True
        here = changed & region
        assert here.sum() > 20, "the shin should change"
        shin = band(changed.shape, pixels[RKNEE] + [x0, 0], pixels[RFOOT] + [x0, 0], width=16)
        assert not (here & ~shin).any(), "nothing but the right shin should change"
        assert darkness["unseen"][here].mean() < 0.6 * darkness["seen"][here].mean()
