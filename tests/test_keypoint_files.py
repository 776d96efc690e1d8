"""Tests of reading other detectors' 2D keypoint files (and 3D pose files) into Human3.6M joints.

The fixtures under tests/data/keypoints/ are laid out as each tool writes them; their keypoint of
COCO name k for person p in frame f sits at (100 + 20k + 300p + f, 400 - 10k + 2f) pixels.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from blapose.errors import InputError
from blapose.skeleton import H36M
from blapose.video.keypoint_files import (
    FORMATS,
    KeypointFile,
    detect_format,
    read_keypoints,
    read_poses,
    split_people,
)
from blapose.video.landmarks import MEDIAPIPE_LANDMARKS, landmarks_to_h36m

DATA = Path(__file__).parent / "data" / "keypoints"
COCO = ("nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
        "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip",
        "left_knee", "right_knee", "left_ankle", "right_ankle")


def point(name: str, person: int, frame: int) -> np.ndarray:
    """Where the fixtures put a COCO-named keypoint."""
    k = COCO.index(name)
    return np.array([100.0 + 20 * k + 300 * person + frame, 400.0 - 10 * k + 2 * frame])


def expected_joints(person: int, frame: int, head_from_nose: bool = False) -> np.ndarray:
    """(17, 2) joints the documented table gives for a fixture person, written out joint by joint."""
    def p(name):
        return point(name, person, frame)
    def mean(*names):
        return np.mean([p(n) for n in names], axis=0)
    hips, shoulders = mean("left_hip", "right_hip"), mean("left_shoulder", "right_shoulder")
    joints = {
        "Hip": hips, "RHip": p("right_hip"), "RKnee": p("right_knee"), "RFoot": p("right_ankle"),
        "LHip": p("left_hip"), "LKnee": p("left_knee"), "LFoot": p("left_ankle"),
        "Spine": (hips + shoulders) / 2, "Thorax": shoulders, "Neck/Nose": (shoulders + p("nose")) / 2,
        "Head": p("nose") if head_from_nose else mean("left_eye", "right_eye", "left_ear", "right_ear"),
        "LShoulder": p("left_shoulder"), "LElbow": p("left_elbow"), "LWrist": p("left_wrist"),
        "RShoulder": p("right_shoulder"), "RElbow": p("right_elbow"), "RWrist": p("right_wrist"),
    }
    return np.stack([joints[name] for name in H36M.joint_names])


def joint(name: str) -> int:
    return H36M.joint_names.index(name)


# (fixture, format, layout, {frame: [(person, missing joints)]}, ids per frame or None, Head from nose)
CASES = {
    "openpose": ("openpose", "body25", {0: [(0, ())], 1: [(0, ("Head",)), (1, ())], 2: []}, None, False),
    "openpose_coco18": ("openpose", "coco18", {5: [(0, ())]}, None, False),
    "alphapose-results.json": ("alphapose", "coco17", {0: [(0, ())], 1: [(0, ()), (1, ())], 2: [(1, ("LWrist",))]},
                               {0: [1], 1: [1, 2], 2: [2]}, False),
    "alphapose-halpe26-untracked.json": ("alphapose", "halpe26", {3: [(0, ()), (1, ())], 4: [(0, ()), (1, ())]},
                                         None, False),
    "coco-results.json": ("coco", "coco17", {10: [(0, ())], 11: [(0, ("RKnee",))]}, None, False),
    "mmpose/results_squat.json": ("mmpose", "coco17", {0: [(0, ())], 1: [(0, ()), (1, ())], 2: []}, None, False),
    "mmpose/squat.json": ("mmpose", "halpe26", {0: [(0, ())], 1: [(0, ("Head",))]}, None, False),
    "sports2d": ("trc", None, {0: [(0, ()), (1, ())], 1: [(0, ()), (1, ("LKnee",))], 2: [(0, ())]},
                 {0: [0, 1], 1: [0, 1], 2: [0]}, True),
}


@pytest.mark.parametrize("fixture", sorted(CASES))
def test_each_format_reads_to_the_expected_joint_pixels(fixture):
    """Every fixture reads to the documented 17 joints in pixels, frame by frame and person by person."""
    file_format, layout, frames, _, head_from_nose = CASES[fixture]
    keypoints = read_keypoints(DATA / fixture)
    assert keypoints.format == file_format
    if layout is not None:
        assert keypoints.layout == layout
    assert keypoints.frame_numbers.tolist() == sorted(frames)
    for detections in keypoints.frames:
        people = frames[detections.frame]
        assert detections.keypoints.shape == (len(people), 17, 2)
        assert detections.scores.shape == (len(people), 17)
        for index, (person, missing) in enumerate(people):
            expected = expected_joints(person, detections.frame, head_from_nose)
            present = [j for j in range(17) if H36M.joint_names[j] not in missing]
            np.testing.assert_allclose(detections.keypoints[index, present], expected[present], atol=1e-9)
            assert (detections.scores[index, present] > 0).all()


@pytest.mark.parametrize("fixture", sorted(CASES))
def test_missing_joints_are_nan_with_score_zero_and_never_at_the_origin(fixture):
    """A joint made from a keypoint the file marks missing is NaN with score 0; no joint lands on (0, 0)."""
    _, _, frames, _, _ = CASES[fixture]
    keypoints = read_keypoints(DATA / fixture)
    for detections in keypoints.frames:
        for index, (_, missing) in enumerate(frames[detections.frame]):
            nan = np.isnan(detections.keypoints[index]).any(axis=-1)
            assert sorted(np.flatnonzero(nan)) == sorted(joint(name) for name in missing)
            assert (detections.scores[index, nan] == 0).all()
        assert not (detections.keypoints == 0).all(axis=-1).any()
        assert ((detections.scores >= 0) & (detections.scores <= 1)).all()


def test_joints_made_of_several_points_go_missing_with_any_of_them():
    """OpenPose's missing left ear removes Head only; the nose-based Neck/Nose and the limbs stay."""
    frame = read_keypoints(DATA / "openpose").frames[1]
    assert np.isnan(frame.keypoints[0, joint("Head")]).all()
    assert np.isfinite(frame.keypoints[0, joint("Neck/Nose")]).all()
    assert np.isfinite(frame.keypoints[1]).all()


def test_scores_are_the_weighted_mean_of_their_points_and_clipped_to_one():
    """MMPose's nose score 1.2 is clipped to 1: Neck/Nose gets (1 + 0.7) / 2, the limbs 0.7."""
    scores = read_keypoints(DATA / "mmpose" / "squat.json").frames[0].scores[0]
    assert scores[joint("Neck/Nose")] == pytest.approx(0.5 * 1.0 + 0.5 * 0.7)
    assert scores[joint("RKnee")] == pytest.approx(0.7)


@pytest.mark.parametrize("fixture", sorted(CASES))
def test_track_ids_are_kept_where_the_file_has_them(fixture):
    """AlphaPose's idx and the TRC person numbers become ids; files without track ids give None."""
    _, _, _, ids, _ = CASES[fixture]
    keypoints = read_keypoints(DATA / fixture)
    for detections in keypoints.frames:
        if ids is None:
            assert detections.ids is None
        else:
            assert detections.ids.tolist() == ids[detections.frame]
    assert keypoints.has_ids == (ids is not None)


def test_people_follow_their_ids_over_frames():
    """split_people gives each AlphaPose track its frames, pixels and scores."""
    people = split_people(read_keypoints(DATA / "alphapose-results.json"))
    assert [p.id for p in people] == [1, 2]
    assert people[0].frames.tolist() == [0, 1] and people[1].frames.tolist() == [1, 2]
    np.testing.assert_allclose(people[1].keypoints[0], expected_joints(1, 1))
    assert people[1].keypoints.shape == (2, 17, 2) and people[1].scores.shape == (2, 17)


def test_one_person_without_ids_is_person_zero_and_several_are_refused():
    """A file with one detection per frame is person 0; several people without ids need a tracker."""
    people = split_people(read_keypoints(DATA / "coco-results.json"))
    assert [p.id for p in people] == [0] and people[0].frames.tolist() == [10, 11]
    with pytest.raises(InputError, match="frame 1 holds 2 people"):
        split_people(read_keypoints(DATA / "openpose"))


def test_trc_frames_start_at_the_first_analysed_frame(tmp_path):
    """A Sports2D TRC cut by --time_range numbers rows from 0 but its Time starts at 1 s: frames 30, 31, 32."""
    text = (DATA / "sports2d" / "squat_Sports2D_px_person00.trc").read_text().splitlines()
    rows = [line.split("\t") for line in text[5:]]
    for row in rows:
        row[1] = f"{1.0 + float(row[1]):.6f}"
    path = tmp_path / "cut_Sports2D_px_person03.trc"
    path.write_text("\n".join(text[:5] + ["\t".join(row) for row in rows]) + "\n")
    keypoints = read_keypoints(path)
    assert keypoints.frame_numbers.tolist() == [30, 31, 32] and keypoints.fps == 30.0
    assert keypoints.frames[0].ids.tolist() == [3]


def test_several_trc_files_are_several_people():
    """A list of TRC files reads like their folder."""
    files = sorted((DATA / "sports2d").glob("*.trc"))
    together = read_keypoints(files)
    folder = read_keypoints(DATA / "sports2d")
    assert together.frame_numbers.tolist() == folder.frame_numbers.tolist()
    for a, b in zip(together.frames, folder.frames):
        np.testing.assert_array_equal(a.keypoints, b.keypoints)


@pytest.mark.parametrize("fixture, expected", [
    ("openpose", "openpose"), ("openpose/squat_000000000001_keypoints.json", "openpose"),
    ("alphapose-results.json", "alphapose"), ("alphapose-halpe26-untracked.json", "alphapose"),
    ("coco-results.json", "coco"), ("mmpose/results_squat.json", "mmpose"), ("mmpose/squat.json", "mmpose"),
    ("sports2d", "trc"), ("sports2d/squat_Sports2D_px_person00.trc", "trc"),
])
def test_format_is_detected_from_extension_folder_and_keys(fixture, expected):
    """Each fixture's format is found without being told."""
    assert detect_format(DATA / fixture) == expected


def test_videopose3d_npz_is_detected_and_read_as_its_tool_writes_it(tmp_path):
    """An npz written like prepare_data_2d_custom.py reads to the COCO mapping, frame size and all frames."""
    coco = np.stack([np.stack([point(n, 0, f) for n in COCO]) for f in range(4)]).astype(np.float32)
    coco[2] = np.nan  # a frame without detection
    metadata = {"layout_name": "coco", "num_joints": 17,
                "keypoints_symmetry": [[1, 3, 5, 7, 9, 11, 13, 15], [2, 4, 6, 8, 10, 12, 14, 16]],
                "video_metadata": {"squat": {"w": 720, "h": 1280}}}
    path = tmp_path / "data_2d_custom_myvideos.npz"
    np.savez_compressed(path, positions_2d={"squat": {"custom": [coco]}}, metadata=metadata)
    assert detect_format(path) == "videopose3d"
    keypoints = read_keypoints(path)
    assert (keypoints.width, keypoints.height, keypoints.fps) == (720, 1280, None)
    assert keypoints.frame_numbers.tolist() == [0, 1, 2, 3]
    assert len(keypoints.frames[2].keypoints) == 0
    np.testing.assert_allclose(keypoints.frames[3].keypoints[0], expected_joints(0, 3), atol=1e-4)
    assert (keypoints.frames[3].scores == 1).all()


class _Exploit:
    def __reduce__(self):
        import os
        return os.system, ("touch exploited",)


def test_videopose3d_npz_with_code_in_its_pickle_is_refused_without_running_it(tmp_path, monkeypatch):
    """An npz whose object array would call os.system gives InputError and runs nothing."""
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.npz"
    array = np.empty((), dtype=object)
    array[()] = {"squat": {"custom": [_Exploit()]}}
    np.savez(path, positions_2d=array, metadata=np.array({}, dtype=object))
    with pytest.raises(InputError, match="evil.npz"):
        read_keypoints(path)
    assert not (tmp_path / "exploited").exists()


def test_forcing_a_format_overrides_detection():
    """AlphaPose results forced as COCO read the same pixels without AlphaPose's track ids."""
    forced = read_keypoints(DATA / "alphapose-results.json", format="coco")
    detected = read_keypoints(DATA / "alphapose-results.json")
    assert forced.format == "coco" and not forced.has_ids
    for a, b in zip(forced.frames, detected.frames):
        np.testing.assert_array_equal(a.keypoints, b.keypoints)


def test_forcing_the_wrong_format_names_the_file():
    """COCO results forced as MMPose predictions are refused in one line naming the file."""
    with pytest.raises(InputError, match="coco-results.json"):
        read_keypoints(DATA / "coco-results.json", format="mmpose")


def _openpose_frame(people: list[list[float]]) -> str:
    return json.dumps({"version": 1.3, "people": [{"pose_keypoints_2d": p} for p in people]})


def _bad_files(folder: Path) -> dict[str, tuple[Path, str | None, str]]:
    """name -> (path, forced format, expected words) of broken inputs."""
    body25 = [10.0, 20.0, 0.9] * 25
    coco17 = {"image_id": "0.jpg", "category_id": 1, "keypoints": [10.0, 20.0, 0.9] * 17, "score": 1.0}
    halpe = dict(coco17, keypoints=[10.0, 20.0, 0.9] * 26)
    trc = (DATA / "sports2d" / "squat_Sports2D_px_person00.trc").read_text()
    files = {
        "not JSON": ("frame_000000000000_keypoints.json", "{people: [", None, "not JSON"),
        "wrong keypoint count": ("frame_000000000000_keypoints.json", _openpose_frame([[1.0, 2.0, 0.5] * 20]),
                                 None, "20 keypoints"),
        "not triplets": ("frame_000000000000_keypoints.json", _openpose_frame([body25[:-1]]), None, "74 values"),
        "no people": ("frame_000000000000_keypoints.json", _openpose_frame([]), None, "no people"),
        "empty results": ("alphapose-results.json", "[]", None, "no people"),
        "mixed layouts": ("alphapose-results.json", json.dumps([coco17, halpe]), "alphapose", "mixed"),
        "no image_id": ("coco.json", json.dumps([{"keypoints": coco17["keypoints"]}]), "coco", "image_id"),
        "image_id without number": ("alphapose.json", json.dumps([dict(coco17, image_id="a.jpg")]), None,
                                    "frame number"),
        "all keypoints missing": ("coco.json", json.dumps([dict(coco17, keypoints=[0, 0, 0] * 17, image_id=1)]),
                                  "coco", "no people"),
        "unknown JSON": ("thing.json", json.dumps({"frames": []}), None, "not OpenPose"),
        "mmpose duplicate frame": ("preds.json", json.dumps([{"frame_id": 0, "instances": []}] * 2), "mmpose",
                                   "twice"),
        "meters TRC": ("squat_Sports2D_m_person00.trc", trc, None, "not a pixel TRC"),
        "truncated TRC": ("squat_Sports2D_px_person00.trc", trc.replace("\t0.0\n", "\n"), None, "columns"),
        "unknown extension": ("keypoints.csv", "x,y", None, "unknown keypoint file type"),
        "unknown format": ("coco.json", json.dumps([coco17]), "csv", "unknown keypoint format"),
    }
    cases = {}
    for name, (file_name, content, forced, words) in files.items():
        path = folder / name.replace(" ", "_") / file_name
        path.parent.mkdir(parents=True)
        path.write_text(content)
        cases[name] = (path, forced, words)
    return cases


BAD = ["not JSON", "wrong keypoint count", "not triplets", "no people", "empty results", "mixed layouts",
       "no image_id", "image_id without number", "all keypoints missing", "unknown JSON",
       "mmpose duplicate frame", "meters TRC", "truncated TRC", "unknown extension", "unknown format"]


@pytest.mark.parametrize("case", BAD)
def test_bad_files_give_one_line_naming_the_file(case, tmp_path):
    """Each kind of broken keypoint file raises InputError with the file's name, on one line."""
    path, forced, words = _bad_files(tmp_path)[case]
    with pytest.raises(InputError) as error:
        read_keypoints(path, format=forced)
    message = str(error.value)
    assert words in message and "\n" not in message
    if case != "unknown format":
        assert path.name in message or path.parent.name in message


def test_a_missing_path_is_named():
    """A path that does not exist is refused naming it."""
    with pytest.raises(InputError, match="nowhere.json: file not found"):
        read_keypoints(DATA / "nowhere.json")


def test_summary_names_format_layout_frames_and_rate():
    """The one-line summary says what was read."""
    line = read_keypoints(DATA / "sports2d").summary()
    assert "trc" in line and "3 frame(s) 0-2" in line and "30 fps" in line and "track ids yes" in line
    assert isinstance(read_keypoints(DATA / "coco-results.json"), KeypointFile)
    assert set(FORMATS) == {"videopose3d", "openpose", "alphapose", "coco", "mmpose", "trc"}


# --- MediaPipe landmarks written as OpenPose and AlphaPose files read back as the pipeline maps them


def _body25(pixels: np.ndarray, visibility: np.ndarray) -> list[float]:
    names = ("nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow",
             "left_wrist", "mid_hip", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee",
             "left_ankle", "right_eye", "left_eye", "right_ear", "left_ear", "left_big_toe",
             "left_small_toe", "left_heel", "right_big_toe", "right_small_toe", "right_heel")
    extra = {"neck": ("left_shoulder", "right_shoulder"), "mid_hip": ("left_hip", "right_hip"),
             "left_big_toe": ("left_foot_index",), "left_small_toe": ("left_foot_index",),
             "left_heel": ("left_heel",), "right_big_toe": ("right_foot_index",),
             "right_small_toe": ("right_foot_index",), "right_heel": ("right_heel",)}
    values = []
    for name in names:
        sources = extra.get(name, (name,))
        index = [MEDIAPIPE_LANDMARKS.index(s) for s in sources]
        values += [*pixels[index].mean(axis=0).tolist(), float(visibility[index].min())]
    return values


def _halpe26(pixels: np.ndarray, visibility: np.ndarray) -> list[float]:
    values = []
    for name in COCO:
        index = MEDIAPIPE_LANDMARKS.index(name)
        values += [*pixels[index].tolist(), float(visibility[index])]
    feet = ("nose", "left_shoulder", "left_hip", "left_foot_index", "right_foot_index", "left_foot_index",
            "right_foot_index", "left_heel", "right_heel")  # head top, neck, hip: any point, unused
    for name in feet:
        index = MEDIAPIPE_LANDMARKS.index(name)
        values += [*pixels[index].tolist(), float(visibility[index])]
    return values


@pytest.fixture(scope="module")
def squat_landmarks() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MediaPipe's pixels (T, 33, 2), visibility (T, 33) and detected (T,) of the squat video's first 8 frames."""
    from blapose.video.detector import detect_landmarks
    from blapose.video.reader import FrameRange, probe_video, read_frames

    video = Path(__file__).parent / "data" / "pose_squats.mp4"
    info = probe_video(video)
    found = detect_landmarks(read_frames(video, FrameRange(0, 8)), info.width, info.height)
    assert found.detected.any()
    return found.pixels, found.visibility, found.detected


def test_landmarks_written_as_openpose_and_alphapose_read_back_as_the_pipeline_maps_them(tmp_path, squat_landmarks):
    """The file's 2D equals landmarks_to_h36m of the same MediaPipe landmarks (and their visibilities)."""
    pixels, visibility, detected = squat_landmarks
    folder = tmp_path / "openpose"
    folder.mkdir()
    records = []
    for frame in np.flatnonzero(detected):
        body = _body25(pixels[frame], visibility[frame])
        (folder / f"squat_{frame:012d}_keypoints.json").write_text(_openpose_frame([body]))
        records.append({"image_id": f"{frame}.jpg", "category_id": 1, "score": 2.5, "idx": 1,
                        "keypoints": _halpe26(pixels[frame], visibility[frame])})
    (tmp_path / "alphapose-results.json").write_text(json.dumps(records))
    expected = landmarks_to_h36m(pixels[detected])
    expected_scores = landmarks_to_h36m(visibility[detected][..., None])[..., 0]
    unseen = landmarks_to_h36m((visibility[detected] <= 0)[..., None].astype(float))[..., 0] > 0
    expected[unseen], expected_scores[unseen] = np.nan, 0.0
    for path in (folder, tmp_path / "alphapose-results.json"):
        people = split_people(read_keypoints(path))
        assert len(people) == 1
        assert people[0].frames.tolist() == np.flatnonzero(detected).tolist()
        np.testing.assert_allclose(people[0].keypoints, expected, rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(people[0].scores, expected_scores, rtol=1e-12, atol=1e-12)


# --- 3D poses for upstream's inference.py --poses


def _poses(frames: int = 5) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.normal(0.0, 0.3, (frames, 17, 3)) + [0.0, 0.0, 4.0]


def test_read_poses_from_npz_with_poses_or_a_single_array_and_from_npy(tmp_path):
    """'poses' in an npz, an npz's only array and an npy all read to the same (T, 17, 3) meters."""
    poses = _poses()
    np.savez(tmp_path / "named.npz", poses=poses, other=np.zeros(3))
    np.savez(tmp_path / "single.npz", poses)
    np.save(tmp_path / "plain.npy", poses)
    for name in ("named.npz", "single.npz", "plain.npy"):
        np.testing.assert_array_equal(read_poses(tmp_path / name), poses)


@pytest.mark.parametrize("content, words", [
    (np.zeros((5, 16, 3)), "expected (T, 17, 3)"),
    (np.zeros((0, 17, 3)), "expected (T, 17, 3)"),
    (np.where(np.arange(5)[:, None, None] == 3, np.nan, _poses()), "non-finite values (first in frame 3)"),
    (_poses() * 1000, "millimetres"),
])
def test_read_poses_refuses_wrong_shape_nan_and_millimetres(tmp_path, content, words):
    """Bad 3D pose files give one line naming the file and what is wrong."""
    path = tmp_path / "poses.npz"
    np.savez(path, poses=content)
    with pytest.raises(InputError, match="poses.npz") as error:
        read_poses(path)
    assert words in str(error.value)


def test_read_poses_refuses_an_object_npy_and_an_npz_without_poses(tmp_path):
    """A pickled npy and an npz with several arrays but no 'poses' are refused."""
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.savez(tmp_path / "two.npz", a=_poses(), b=_poses())
    with pytest.raises(InputError, match="objects.npy"):
        read_poses(tmp_path / "objects.npy")
    with pytest.raises(InputError, match="no array 'poses'"):
        read_poses(tmp_path / "two.npz")
