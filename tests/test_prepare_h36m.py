"""prepare-h36m on small files written in Human3.6M's original layouts (cdf) and Martinez et al.'s archive (h5)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest

from blapose.cli import main
from blapose.data.h36m import KEPT_JOINTS_OF_32, load_keypoints_2d, load_poses_3d, load_sequences
from blapose.data.prepare_h36m import canonical_sequence_name
from blapose.data.safe_pickle import load_npz
from blapose.geometry.camera import h36m_cameras, image_coordinates, project_to_2d

cdfwrite = pytest.importorskip("cdflib.cdfwrite", reason="cdflib not installed (pip install 'blapose[h36m]')")
h5py = pytest.importorskip("h5py", reason="h5py not installed (pip install 'blapose[h36m]')")

# subject -> original sequence names (S11's 'Directions' is the corrupt recording that is left out)
ORIGINAL_SEQUENCES = {"S1": ("Directions 1", "TakingPhoto", "WalkingDog 1"),
                      "S9": ("Sitting 1",),
                      "S11": ("Directions", "Walking 1")}
EXPECTED_SEQUENCES = {"S1": ["Directions 1", "Photo", "WalkDog 1"], "S9": ["Sitting 1"], "S11": ["Walking 1"]}


def _motion_mm(frames: int, rng: np.random.Generator) -> np.ndarray:
    """(T, 32, 3) float64 millimetres, world frame: a body-sized cloud of joints drifting across the floor."""
    rest = rng.uniform([-300, -300, 0], [300, 300, 1800], size=(32, 3))
    drift = np.cumsum(rng.normal(0, 15, size=(frames, 1, 3)), axis=0)
    return rest + drift + rng.normal(0, 5, size=(frames, 32, 3))


@pytest.fixture(scope="module")
def motions_mm() -> dict[str, dict[str, np.ndarray]]:
    """{subject: {original name: (T, 32, 3) mm}} with a different length per sequence."""
    rng = np.random.default_rng(7)
    return {subject: {name: _motion_mm(int(rng.integers(6, 12)), rng) for name in names}
            for subject, names in ORIGINAL_SEQUENCES.items()}


def _write_cdf(path: Path, poses_mm: np.ndarray) -> None:
    """One D3_Positions file: zVariable 'Pose' of one record (T, 96), float32, as the originals."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = len(poses_mm)
    cdf = cdfwrite.CDF(str(path))
    cdf.write_var({"Variable": "Pose", "Data_Type": cdfwrite.CDF.CDF_FLOAT, "Num_Elements": 1, "Rec_Vary": True,
                   "Dim_Sizes": [frames, 96]}, var_data=poses_mm.reshape(1, frames, 96).astype(np.float32))
    cdf.close()


def _h5_bytes(poses_mm: np.ndarray) -> bytes:
    """One MyPoses/3D_positions file: dataset '3D_positions' of shape (96, T)."""
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as content:
        content["3D_positions"] = poses_mm.reshape(len(poses_mm), 96).T.astype(np.float32)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def source_dir(tmp_path_factory: pytest.TempPathFactory, motions_mm: dict) -> Path:
    folder = tmp_path_factory.mktemp("h36m_source")
    for subject, sequences in motions_mm.items():
        for name, poses in sequences.items():
            _write_cdf(folder / subject / "MyPoseFeatures" / "D3_Positions" / f"{name}.cdf", poses)
    (folder / "S1" / "MyPoseFeatures" / "D3_Positions" / "._Walking 1.cdf").write_bytes(b"macOS metadata")
    return folder


@pytest.fixture(scope="module")
def archive_path(tmp_path_factory: pytest.TempPathFactory, motions_mm: dict) -> Path:
    path = tmp_path_factory.mktemp("h36m_archive") / "h36m.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("h36m/cameras.h5", b"not read")
        archive.writestr("__MACOSX/h36m/S1/MyPoses/3D_positions/._Walking 1.h5", b"macOS metadata, not read")
        for subject, sequences in motions_mm.items():
            for name, poses in sequences.items():
                archive.writestr(f"h36m/{subject}/MyPoses/3D_positions/{canonical_sequence_name(name)}.h5",
                                 _h5_bytes(poses))
    return path


def _expected_meters(motions_mm: dict) -> dict[str, dict[str, np.ndarray]]:
    """The input motion under VideoPose3D's names, in meters, without S11 'Directions'."""
    return {subject: {canonical_sequence_name(name): poses.astype(np.float32).astype(np.float64) / 1000
                      for name, poses in sequences.items() if (subject, name) != ("S11", "Directions")}
            for subject, sequences in motions_mm.items()}


def _run(*argv: str) -> int:
    return main(["prepare-h36m", *argv])


def test_cdf_source_gives_the_input_motion_in_meters(source_dir: Path, motions_mm: dict, tmp_path: Path) -> None:
    """The 3D file holds every sequence under VideoPose3D's name as (T, 32, 3) float32 meters equal to the input."""
    assert _run("--from-source-cdf", str(source_dir), "--out", str(tmp_path)) == 0
    positions = load_npz(tmp_path / "data_3d_h36m.npz")["positions_3d"]
    expected = _expected_meters(motions_mm)
    assert {subject: sorted(sequences) for subject, sequences in positions.items()} == EXPECTED_SEQUENCES
    for subject, sequences in expected.items():
        for name, poses in sequences.items():
            assert positions[subject][name].dtype == np.float32 and positions[subject][name].shape == poses.shape
            np.testing.assert_allclose(positions[subject][name], poses, rtol=1e-6, atol=1e-7)
    reduced = load_poses_3d(tmp_path / "data_3d_h36m.npz")
    np.testing.assert_allclose(reduced["S9"]["Sitting 1"], expected["S9"]["Sitting 1"][:, KEPT_JOINTS_OF_32],
                               rtol=1e-6, atol=1e-7)


def test_ground_truth_2d_is_the_projection_through_the_real_cameras(source_dir: Path, motions_mm: dict,
                                                                     tmp_path: Path) -> None:
    """The 2D file holds the 17 kept joints projected as VideoPose3D does (normalised intrinsics, then pixels)."""
    assert _run("--from-source-cdf", str(source_dir), "--out", str(tmp_path)) == 0
    keypoints, metadata = load_keypoints_2d(tmp_path / "data_2d_h36m_gt.npz")
    assert metadata["num_joints"] == 17
    assert [list(side) for side in metadata["keypoints_symmetry"]] == [[4, 5, 6, 11, 12, 13], [1, 2, 3, 14, 15, 16]]
    for subject, sequences in _expected_meters(motions_mm).items():
        for name, poses in sequences.items():
            cameras = h36m_cameras(subject)
            assert len(keypoints[subject][name]) == len(cameras) == 4
            for camera, pixels in zip(cameras, keypoints[subject][name]):
                normalized = project_to_2d(camera.world_to_camera(poses[:, KEPT_JOINTS_OF_32]), camera.intrinsic())
                expected = image_coordinates(normalized, camera.res_w, camera.res_h)
                assert pixels.dtype == np.float32 and pixels.shape == (len(poses), 17, 2)
                np.testing.assert_allclose(pixels, expected, atol=2e-3)
    sequences = load_sequences(tmp_path, "gt", subjects=["S1", "S9", "S11"])
    assert len(sequences) == 4 * 5


def test_archive_gives_the_same_files_as_the_cdf_source(source_dir: Path, archive_path: Path,
                                                        tmp_path: Path) -> None:
    """The h5 archive ((96, T) per sequence) and the cdf files of the same motion give identical data files."""
    assert _run("--from-source-cdf", str(source_dir), "--out", str(tmp_path / "cdf")) == 0
    assert _run("--from-archive", str(archive_path), "--out", str(tmp_path / "zip")) == 0
    from_cdf = load_npz(tmp_path / "cdf" / "data_3d_h36m.npz")
    from_zip = load_npz(tmp_path / "zip" / "data_3d_h36m.npz")
    assert list(from_cdf["positions_3d"]) == list(from_zip["positions_3d"]) == ["S1", "S9", "S11"]
    for subject, sequences in from_cdf["positions_3d"].items():
        assert list(sequences) == list(from_zip["positions_3d"][subject])
        for name, poses in sequences.items():
            np.testing.assert_array_equal(poses, from_zip["positions_3d"][subject][name])
    cdf_2d, _ = load_keypoints_2d(tmp_path / "cdf" / "data_2d_h36m_gt.npz")
    zip_2d, _ = load_keypoints_2d(tmp_path / "zip" / "data_2d_h36m_gt.npz")
    np.testing.assert_array_equal(cdf_2d["S1"]["WalkDog 1"][2], zip_2d["S1"]["WalkDog 1"][2])


def _assert_one_line_failure(code: int, capsys: pytest.CaptureFixture, *fragments: str) -> None:
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in err, err


def test_missing_or_empty_source_fails_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """A missing folder and a folder without D3_Positions cdf files fail with one line and write nothing."""
    out = tmp_path / "out"
    _assert_one_line_failure(_run("--from-source-cdf", str(tmp_path / "nowhere"), "--out", str(out)), capsys,
                             "nowhere", "no such folder")
    (tmp_path / "empty" / "S1" / "MyPoseFeatures" / "D3_Positions").mkdir(parents=True)
    _assert_one_line_failure(_run("--from-source-cdf", str(tmp_path / "empty"), "--out", str(out)), capsys,
                             "D3_Positions/*.cdf")
    assert not out.exists()


def test_corrupt_cdf_fails_naming_the_file_and_writes_nothing(source_dir: Path, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture) -> None:
    """One damaged cdf among good ones: one line naming it, no output file (not even the 3D one)."""
    broken = tmp_path / "broken"
    for path in source_dir.rglob("*.cdf"):
        target = broken / path.relative_to(source_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
    damaged = broken / "S9" / "MyPoseFeatures" / "D3_Positions" / "Sitting 1.cdf"
    damaged.write_bytes(b"\x00" * 64)
    out = tmp_path / "out"
    _assert_one_line_failure(_run("--from-source-cdf", str(broken), "--out", str(out)), capsys, "Sitting 1.cdf")
    assert not out.exists() or list(out.iterdir()) == []


def test_wrong_archives_fail_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Not a zip, a zip of another layout, and an h5 of the wrong shape each fail with one line, nothing written."""
    out = tmp_path / "out"
    not_zip = tmp_path / "h36m.zip"
    not_zip.write_bytes(b"PK but not really")
    _assert_one_line_failure(_run("--from-archive", str(not_zip), "--out", str(out)), capsys, "not a zip")
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("S1/MyPoseFeatures/D3_Positions/Walking 1.cdf", b"")
    _assert_one_line_failure(_run("--from-archive", str(other), "--out", str(out)), capsys,
                             "h36m/S*/MyPoses/3D_positions/*.h5")
    transposed = tmp_path / "transposed.zip"
    with zipfile.ZipFile(transposed, "w") as archive:
        buffer = io.BytesIO()
        with h5py.File(buffer, "w") as content:
            content["3D_positions"] = np.zeros((10, 96), dtype=np.float32)
        archive.writestr("h36m/S1/MyPoses/3D_positions/Walking 1.h5", buffer.getvalue())
    _assert_one_line_failure(_run("--from-archive", str(transposed), "--out", str(out)), capsys,
                             "Walking 1.h5", "(10, 96)")
    assert not out.exists()


def test_existing_output_needs_force(source_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """An existing data_3d_h36m.npz is kept unless --force is given."""
    (tmp_path / "data_3d_h36m.npz").write_bytes(b"keep me")
    _assert_one_line_failure(_run("--from-source-cdf", str(source_dir), "--out", str(tmp_path)), capsys, "--force")
    assert (tmp_path / "data_3d_h36m.npz").read_bytes() == b"keep me"
    assert _run("--from-source-cdf", str(source_dir), "--out", str(tmp_path), "--force") == 0
    assert set(load_poses_3d(tmp_path / "data_3d_h36m.npz")) == {"S1", "S9", "S11"}
