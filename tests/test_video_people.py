"""End-to-end tests of ``blapose video`` with several people, another detector's keypoints (with and
without a video), another lifter's 3D poses (--poses) and per-person TRC/C3D files."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from blapose.bones import bone_lengths
from blapose.cli import main
from blapose.data.motion import simulate_action
from blapose.data.synthetic import MEAN_LENGTHS
from blapose.geometry.rotations import upright_frame
from blapose.video.keypoint_files import read_keypoints, split_people
from blapose.video.options import Outputs, PersonChoice, Source
from blapose.video.pipeline import process
from blapose.video.results import PersonResult
from blapose.video.trc import H36M_MARKER_NAMES, person_markers
from people_support import HALF_WIDTH, SQUATS, write_two_people_video

cv2 = pytest.importorskip("cv2")
pytest.importorskip("mediapipe")

KEYPOINTS = Path(__file__).parent / "data" / "keypoints"
OPENPOSE = KEYPOINTS / "openpose"  # 3 frames: person 0 in frames 0-1, person 1 in frame 1 only; no ids
SPORTS2D = KEYPOINTS / "sports2d"  # 3 frames, two people with ids, 30 fps
#: The OpenPose fixture without a video: its rate and frame size, and every person however short.
NO_VIDEO = ["--fps", "30", "--size", "1920,1080", "--min-seconds", "0"]
#: Frames of the two-person clip the composite runs use (5 fps: 3 s).
COMPOSITE_FRAMES = 15


def frame_count(path: Path) -> int:
    """Frames decoded from a video file."""
    capture = cv2.VideoCapture(str(path))
    count = 0
    while capture.read()[0]:
        count += 1
    capture.release()
    return count


def npz(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as content:
        return dict(content)


def read_trc_markers(path: Path) -> np.ndarray:
    """Markers (T, M, 3) of a TRC file's table (empty cells NaN), from its own text."""
    table = np.genfromtxt(path, delimiter="\t", skip_header=6)
    return table[:, 2:2 + 3 * len(H36M_MARKER_NAMES)].reshape(len(table), -1, 3)


def expected_markers(content: dict[str, np.ndarray]) -> np.ndarray:
    """The markers (T_k, 17, 3) meters a person's npz says their TRC and C3D hold."""
    return person_markers(content["poses_3d_adjusted"].astype(np.float64),
                          upright_frame(content["up"].astype(np.float64)),
                          content["trajectory"].astype(np.float64), content["detected"])


@pytest.fixture(scope="module")
def composite(tmp_path_factory) -> Path:
    """The squat clip beside its mirror image (two people), 15 frames, as an mp4."""
    return write_two_people_video(tmp_path_factory.mktemp("clips") / "two.mp4", COMPOSITE_FRAMES)


@pytest.fixture(scope="module")
def two_people(tmp_path_factory, composite) -> Path:
    """The output folder of `blapose video two.mp4 --trc --c3d`."""
    out = tmp_path_factory.mktemp("two") / "out"
    assert main(["video", str(composite), "--out", str(out), "--trc", "--c3d"]) == 0
    return out


def test_two_people_get_their_own_files_and_share_one_video(two_people):
    """Two people: an npz, TRC and C3D each, numbered 1 and 2, and one mp4 of all the clip's frames."""
    names = sorted(p.name for p in two_people.iterdir())
    assert names == ["two.mp4"] + [f"two_person{k}.{kind}" for k in (1, 2) for kind in ("c3d", "npz", "trc")]
    assert frame_count(two_people / "two.mp4") == COMPOSITE_FRAMES


def test_a_rerun_with_fewer_people_leaves_only_its_own_files(two_people, composite, tmp_path):
    """Rerun into a folder of two people's files with --people 1 and no marker files: the second
    person's files and the first's TRC/C3D from the earlier run are gone; other files stay."""
    import shutil

    out = tmp_path / "out"
    shutil.copytree(two_people, out)
    (out / "notes.txt").write_text("mine")
    assert main(["video", str(composite), "--out", str(out), "--people", "1", "--no-render"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt", "two.mp4", "two_person1.npz"]


def test_each_person_has_their_frames_side_and_lengths(two_people):
    """Each npz covers its frames, stays on its own half of the frame, and has its own bone lengths,
    which for the woman and her mirror image agree within 10 mm."""
    people = [npz(two_people / f"two_person{k}.npz") for k in (1, 2)]
    sides = set()
    for content in people:
        frames = content["frames"]
        assert frames.dtype == np.int64 and np.array_equal(frames, np.arange(frames[0], frames[-1] + 1))
        assert len(frames) >= COMPOSITE_FRAMES - 2 and content["keypoints_2d"].shape == (len(frames), 17, 2)
        hips = content["keypoints_2d"][content["detected"], 0, 0]
        assert (hips < HALF_WIDTH).all() or (hips > HALF_WIDTH).all()
        sides.add(bool(hips[0] < HALF_WIDTH))
        assert content["bone_lengths"].shape == (16,)
        np.testing.assert_allclose(bone_lengths(content["poses_3d_adjusted"].astype(np.float64)),
                                   np.tile(content["bone_lengths"], (len(frames), 1)), atol=1e-5)
    assert sides == {True, False}
    assert np.abs(people[0]["bone_lengths"] - people[1]["bone_lengths"]).max() < 0.01


def test_marker_files_read_back_as_each_persons_joints(two_people):
    """Each person's TRC (text) and C3D (ezc3d, millimetres) hold their adjusted joints placed by their
    trajectory in the BVH's upright frame, with the first row at their first video frame and the
    TRC header naming the file itself."""
    ezc3d = pytest.importorskip("ezc3d")
    for k in (1, 2):
        content = npz(two_people / f"two_person{k}.npz")
        expected = expected_markers(content)
        trc = two_people / f"two_person{k}.trc"
        np.testing.assert_allclose(read_trc_markers(trc), expected, atol=1e-5)
        lines = trc.read_text().splitlines()
        assert lines[0].split("\t")[-1] == trc.name  # the file's own name, not its temporary one
        first_row = lines[6].split("\t")
        assert int(first_row[0]) == content["frames"][0] + 1
        c3d = ezc3d.c3d(str(two_people / f"two_person{k}.c3d"))
        points = c3d["data"]["points"][:3].transpose(2, 1, 0) / 1000.0
        np.testing.assert_allclose(points, expected, atol=1e-5)


@pytest.mark.parametrize("flags, right_only", [(["--people", "1"], False),
                                               (["--person-box", f"{HALF_WIDTH},0,{2 * HALF_WIDTH},640"], True)])
def test_people_one_or_a_box_keep_one_person(composite, tmp_path, flags, right_only):
    """--people 1 keeps one of the two; --person-box on the right half keeps the right person in every frame."""
    out = tmp_path / "out"
    assert main(["video", str(composite), "--out", str(out), "--no-render", "--end", "2", *flags]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["two_person1.npz"]
    content = npz(out / "two_person1.npz")
    assert len(content["frames"]) >= 9
    if right_only:
        np.testing.assert_array_equal(content["frames"], np.arange(10))
        assert (content["keypoints_2d"][:, :, 0] > HALF_WIDTH).all()


def file_detection(keypoints, frame: int, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(keypoints (J, 2), scores (J,)) of the one detection of the file's ``frame`` that ``points`` (J, 2)
    equal (float32) on every joint the detection has."""
    detections = next(f for f in keypoints.frames if f.frame == frame)
    matches = [(k, s) for k, s in zip(detections.keypoints, detections.scores)
               if np.array_equal(points[s > 0], k[s > 0].astype(np.float32))]
    assert len(matches) == 1, (frame, len(matches))
    return matches[0]


def test_openpose_keypoints_without_a_video_are_kept_exactly(tmp_path, capsys):
    """--keypoints (OpenPose, two people in one frame, no ids) without a video: an npz and no mp4; its 2D
    equal the file's where the file has them, missing joints filled and scored 0; the summary names
    the source and the built-in lifter."""
    out = tmp_path / "out"
    assert main(["video", "--keypoints", str(OPENPOSE), "--out", str(out), *NO_VIDEO]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["openpose_person1.npz"]
    content = npz(out / "openpose_person1.npz")
    np.testing.assert_array_equal(content["frames"], [0, 1])
    keypoints = read_keypoints(OPENPOSE)
    missing = 0
    for row, frame in enumerate(content["frames"]):
        points, scores = file_detection(keypoints, int(frame), content["keypoints_2d"][row])
        np.testing.assert_array_equal(content["scores"][row], scores.astype(np.float32))
        assert np.isfinite(content["keypoints_2d"][row]).all()
        missing += int((scores == 0).sum())
    assert missing > 0  # the fixture has missing joints: filled, score 0
    # the tracker kept one person: the fixture moves every keypoint by (1, 2) px per frame
    both = (content["scores"] > 0).all(axis=0)
    np.testing.assert_allclose(content["keypoints_2d"][1, both] - content["keypoints_2d"][0, both], [[1, 2]] * both.sum())
    assert not content["swapped"].any()
    log = capsys.readouterr().out
    assert "2D from openpose keypoints (body25)" in log and "3D from the lifter builtin (MediaPipe's own 3D" in log
    assert "person 1: 2 frames (0-1)" in log and "height about" in log and "nothing rendered" in log


def test_keypoint_file_ids_make_the_people(tmp_path):
    """Sports2D TRC files (a person each, rate from the file): each person's npz holds their file keypoints."""
    out = tmp_path / "out"
    assert main(["video", "--keypoints", str(SPORTS2D), "--out", str(out), "--size", "1920,1080",
                 "--min-seconds", "0", "--no-trajectory"]) == 0
    people = split_people(read_keypoints(SPORTS2D))
    assert sorted(p.name for p in out.iterdir()) == [f"sports2d_person{k}.npz" for k in (1, 2)]
    for k, person in enumerate(people, 1):
        content = npz(out / f"sports2d_person{k}.npz")
        np.testing.assert_array_equal(content["frames"], person.frames)
        present = person.scores > 0
        np.testing.assert_array_equal(content["keypoints_2d"][present], person.keypoints[present].astype(np.float32))
        assert float(content["fps"]) == 30.0 and "trajectory" not in content


def test_keypoints_on_a_video_are_drawn_on_it(tmp_path):
    """--keypoints with a video renders the video's frames (here 2 s: 10 frames) with the file's people."""
    out = tmp_path / "out"
    assert main(["video", str(SQUATS), "--keypoints", str(OPENPOSE), "--out", str(out), "--end", "2",
                 "--min-seconds", "0"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["pose_squats.mp4", "pose_squats_person1.npz"]
    assert frame_count(out / "pose_squats.mp4") == 10
    content = npz(out / "pose_squats_person1.npz")
    assert (int(content["width"]), int(content["height"]), float(content["fps"])) == (720, 1280, 5.0)


def given_poses(folder: Path, frames: int) -> tuple[Path, np.ndarray]:
    """An npz of ``frames`` walking poses (T, 17, 3) meters, about 4 m in front of the camera."""
    poses = simulate_action("Walking", MEAN_LENGTHS, 40, np.random.default_rng(4))[:frames] + [0.2, -0.1, 4.0]
    path = folder / "poses.npz"
    np.savez(path, poses=poses)
    return path, poses


def test_poses_are_kept_as_given_root_relative_and_adjusted(tmp_path):
    """--poses: poses_3d are the given poses of the person's frames minus their root; the adjusted ones
    have the chosen bone lengths; the Python API returns one PersonResult with its files."""
    path, poses = given_poses(tmp_path, 3)
    results = process(None, source=Source(keypoints=str(OPENPOSE), poses=str(path), fps=30.0, size=(1920, 1080)),
                      people=PersonChoice(min_seconds=0.0), outputs=Outputs(tmp_path / "out"), show_progress=False,
                      log=None)
    [result] = results
    assert isinstance(result, PersonResult) and result.number == 1 and set(result.files) == {"npz"}
    expected = poses[result.frames] - poses[result.frames][:, :1]
    np.testing.assert_allclose(result.poses_3d, expected, atol=1e-12)
    np.testing.assert_allclose(npz(result.files["npz"])["poses_3d"], expected, atol=1e-6)
    np.testing.assert_allclose(bone_lengths(result.poses_3d_adjusted),
                               np.tile(result.bone_lengths, (len(result.frames), 1)), atol=1e-9)


def test_poses_with_mediapipes_2d(tmp_path):
    """--poses with MediaPipe's 2D (one person by --person-box): poses_3d are the given ones, root-relative."""
    path, poses = given_poses(tmp_path, 10)
    out = tmp_path / "out"
    assert main(["video", str(SQUATS), "--poses", str(path), "--person-box", "0,0,720,1280", "--end", "2",
                 "--out", str(out), "--no-render"]) == 0
    content = npz(out / "pose_squats_person1.npz")
    np.testing.assert_allclose(content["poses_3d"], poses - poses[:, :1], atol=1e-6)


def bad_cases(folder: Path) -> dict[str, tuple[list[str], str]]:
    """Case -> (command arguments, pattern of the one error line)."""
    three = str(given_poses(folder, 3)[0])
    five = folder / "five.npz"
    np.savez(five, poses=given_poses(folder, 5)[1])
    openpose = ["--keypoints", str(OPENPOSE)]
    return {
        "nothing to read": ([], "give a video .INPUT., or 2D keypoints"),
        "no frame rate": ([*openpose, "--size", "1920,1080"], "does not give the frame rate; give --fps"),
        "no frame size": ([*openpose, "--fps", "30"], "does not give the frame size; give --size"),
        "rate with a video": ([str(SQUATS), "--fps", "30"], "--fps and --size describe keypoints without a video"),
        "mediapipe lifter": ([*openpose, *NO_VIDEO, "--lifter", "builtin+mediapipe-rays"],
                             "MediaPipe's 3D exists only for MediaPipe's keypoints"),
        "poses of another length": ([*openpose, *NO_VIDEO, "--poses", str(five)],
                                    "holds 5 poses; the clip has 3 frames"),
        "poses of two people": (["--keypoints", str(SPORTS2D), "--size", "1920,1080", "--min-seconds", "0",
                                 "--poses", three], "--poses describes one person, and 2 were followed"),
        "height of two people": (["--keypoints", str(SPORTS2D), "--size", "1920,1080", "--min-seconds", "0",
                                  "--height", "1.7"], "--height describes one person"),
        "poses and a lifter": ([*openpose, *NO_VIDEO, "--poses", three, "--lifter", "builtin"], "drop --lifter"),
        "missing keypoints": (["--keypoints", str(folder / "missing.json"), *NO_VIDEO], "file not found"),
        "format alone": ([str(SQUATS), "--keypoints-format", "openpose"], "--keypoints-format names"),
        "people and a box": ([str(SQUATS), "--people", "2", "--person-box", "0,0,10,10"], "follows one person"),
        "nobody long enough": ([*openpose, "--fps", "30", "--size", "1920,1080"], "lower --min-seconds"),
        "keypoints of several videos": ([str(SQUATS), str(SQUATS), *openpose], "--keypoints belongs to one video"),
    }


@pytest.mark.parametrize("case", ["nothing to read", "no frame rate", "no frame size", "rate with a video",
                                  "mediapipe lifter", "poses of another length", "poses of two people",
                                  "height of two people", "poses and a lifter", "missing keypoints", "format alone",
                                  "people and a box", "nobody long enough", "keypoints of several videos"])
def test_bad_input_gets_one_line_and_leaves_no_files(case, tmp_path, capsys):
    """Each bad combination exits non-zero with one error line naming the problem, and writes nothing."""
    arguments, message = bad_cases(tmp_path)[case]
    out = tmp_path / "out"
    code = main(["video", *arguments, "--out", str(out / "nested")])
    error = capsys.readouterr().err.strip().splitlines()
    assert code != 0
    assert len(error) == 1 and error[0].startswith("blapose video: error:") and re.search(message, error[0]), error
    assert not out.exists()


def test_outputs_never_replace_an_input(tmp_path, capsys):
    """A video in the output folder under an output's name (<name>.mp4) is refused before anything runs."""
    import shutil

    video = tmp_path / "pose_squats.mp4"
    shutil.copy(SQUATS, video)
    assert main(["video", str(video), "--out", str(tmp_path)]) == 2
    assert "would overwrite the input" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pose_squats.mp4"]
