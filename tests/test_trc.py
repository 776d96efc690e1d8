"""Tests of TRC marker files: the layout, OpenSim's own reader, the person's markers in the BVH frame, atomic writing.

Frames: markers in the upright frame (y up), meters. Glossary: T frames, M markers, J joints (17).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from blapose.data.synthetic import MEAN_LENGTHS
from blapose.errors import InputError
from blapose.geometry.rotations import upright_frame as upright_rotation
from blapose.skeleton import H36M
from blapose.video.bvh import read_bvh_poses, write_bvh
from blapose.video.trc import H36M_MARKER_NAMES, person_markers, write_trc
from bvh_support import walk_with_jump

NAMES = ("Hip", "LKnee", "Neck_Nose", "RWrist")


@pytest.fixture(scope="module")
def opensim():
    """OpenSim's Python package, its log file (opensim.log in the working folder) turned off; skips without it."""
    module = pytest.importorskip("opensim", reason="opensim not installed (pip install opensim): "
                                                   "the TRC files are checked against OpenSim's own readers")
    module.Logger.removeFileSink()
    module.Logger.setLevelString("warn")
    return module


def markers_with_gaps(frames: int = 7, rng_seed: int = 3) -> np.ndarray:
    """Markers (T, 4, 3) meters with gaps: marker 1 in frame 2, the last marker in frame 4, all of frame 5."""
    markers = np.random.default_rng(rng_seed).normal(scale=0.8, size=(frames, len(NAMES), 3))
    markers[2, 1] = np.nan
    markers[4, 3, 1] = np.nan  # one NaN coordinate makes the whole marker missing
    markers[5] = np.nan
    return markers


def missing(markers: np.ndarray) -> np.ndarray:
    return np.isnan(markers).any(axis=-1)


def expected_values(markers: np.ndarray, units: str) -> np.ndarray:
    """What a reader should find: the written values (to a micrometre) in the file's unit, whole markers NaN."""
    scale, decimals = {"m": (1.0, 6), "mm": (1000.0, 3)}[units]
    values = np.round(markers * scale, decimals)
    values[missing(markers)] = np.nan
    return values


@pytest.mark.parametrize("units", ["m", "mm"])
def test_opensim_reads_labels_times_values_and_units(opensim, tmp_path: Path, units: str):
    """OpenSim 4's TRC reader (TimeSeriesTableVec3) reads back the names, times, rate, units and values, gaps as NaN."""
    markers = markers_with_gaps()
    fps, first = 29.97, 12
    path = write_trc(tmp_path / "person.trc", markers, NAMES, fps, units=units, first_frame=first)
    table = opensim.TimeSeriesTableVec3(str(path))
    assert list(table.getColumnLabels()) == list(NAMES)
    assert table.getNumRows() == len(markers)
    np.testing.assert_allclose(list(table.getIndependentColumn()), np.round((first + np.arange(7)) / fps, 6),
                               atol=1e-12)
    assert table.getTableMetaDataAsString("Units") == units
    assert float(table.getTableMetaDataAsString("DataRate")) == pytest.approx(fps)
    assert int(table.getTableMetaDataAsString("NumMarkers")) == len(NAMES)
    assert int(table.getTableMetaDataAsString("OrigDataStartFrame")) == first + 1
    read = np.array([[[table.getRowAtIndex(t)[m][k] for k in range(3)] for m in range(len(NAMES))]
                     for t in range(table.getNumRows())])
    np.testing.assert_allclose(read, expected_values(markers, units), rtol=0, atol=1e-12)
    assert np.array_equal(np.isnan(read).all(axis=-1), missing(markers))


def test_opensim_marker_data_reads_gaps_as_missing(opensim, tmp_path: Path):
    """OpenSim's MarkerData (the scale and IK tools' reader) finds every marker, the rate and the gaps."""
    markers = markers_with_gaps()
    data = opensim.MarkerData(str(write_trc(tmp_path / "gaps.trc", markers, NAMES, 50.0)))
    names = data.getMarkerNames()
    assert [names.get(i) for i in range(names.getSize())] == list(NAMES)
    assert data.getNumFrames() == len(markers) and data.getDataRate() == 50.0
    assert data.getUnits().getAbbreviation() == "m"
    for t in range(len(markers)):
        frame = data.getFrame(t)
        read = np.array([[frame.getMarker(m)[k] for k in range(3)] for m in range(len(NAMES))])
        np.testing.assert_allclose(read, expected_values(markers[t], "m"), rtol=0, atol=1e-12)


def test_layout_header_names_columns_and_rows(tmp_path: Path):
    """The layout: PathFileType line, header keys and values, names over three columns, X1.. row, a row a frame."""
    markers = markers_with_gaps()
    lines = write_trc(tmp_path / "walk.trc", markers, NAMES, 50.0, units="mm").read_text().split("\n")
    assert lines[0].split("\t") == ["PathFileType", "4", "(X/Y/Z)", "walk.trc"]
    keys = lines[1].split("\t")
    assert keys == ["DataRate", "CameraRate", "NumFrames", "NumMarkers", "Units", "OrigDataRate",
                    "OrigDataStartFrame", "OrigNumFrames"]
    header = dict(zip(keys, lines[2].split("\t")))
    assert header == {"DataRate": "50", "CameraRate": "50", "NumFrames": "7", "NumMarkers": "4", "Units": "mm",
                      "OrigDataRate": "50", "OrigDataStartFrame": "1", "OrigNumFrames": "7"}
    width = 2 + 3 * len(NAMES)
    names_row, columns_row = lines[3].split("\t"), lines[4].split("\t")
    assert names_row[:2] == ["Frame#", "Time"] and tuple(names_row[2:width:3]) == NAMES
    assert all(cell == "" for i, cell in enumerate(names_row[2:]) if i % 3)
    assert columns_row[:2] == ["", ""]
    assert columns_row[2:width] == [f"{axis}{i}" for i in range(1, 5) for axis in "XYZ"]
    assert lines[5] == ""
    rows = [line.split("\t") for line in lines[6:] if line]
    assert len(rows) == len(markers) and lines[-1] == ""
    assert all(len(row) == width + 1 and row[-1] == "" for row in rows)  # each row closes with a tab
    assert [int(row[0]) for row in rows] == list(range(1, 8))
    np.testing.assert_allclose([float(row[1]) for row in rows], np.arange(7) / 50.0)
    cells = np.array([row[2:width] for row in rows]).reshape(7, len(NAMES), 3)
    assert np.array_equal((cells == "").all(axis=-1), missing(markers))
    assert not ((cells == "").any(axis=-1) & ~(cells == "").all(axis=-1)).any()
    read = np.where(cells == "", "nan", cells).astype(float)
    np.testing.assert_allclose(read, expected_values(markers, "mm"), rtol=0, atol=1e-9)


def test_person_markers_share_the_bvh_frame_with_root_motion(tmp_path: Path):
    """Camera-frame poses plus trajectory, turned by upright_rotation, give the joints the BVH puts in the scene."""
    rng = np.random.default_rng(5)
    lengths = MEAN_LENGTHS
    upright_poses, upright_roots = walk_with_jump(lengths, 40, 0.3, rng)
    up = np.array([0.1, -0.95, 0.2])  # the camera looks slightly down: y down in the camera frame
    rotation = upright_rotation(up)
    camera_poses, camera_roots = upright_poses @ rotation, upright_roots @ rotation  # inverse of points @ R.T
    markers = person_markers(camera_poses, rotation, camera_roots)
    np.testing.assert_allclose(markers, upright_poses + upright_roots[:, None], atol=1e-12)
    # The BVH written as ``pipeline`` writes it holds the same joints in the same frame.
    bvh = write_bvh(tmp_path / "person.bvh", camera_poses @ rotation.T, lengths, 50.0,
                    root_positions=camera_roots @ rotation.T)
    np.testing.assert_allclose(read_bvh_poses(bvh), markers, atol=2e-6)
    head, feet = H36M.joint_names.index("Head"), [H36M.joint_names.index(n) for n in ("LFoot", "RFoot")]
    assert (markers[:, head, 1] > markers[:, feet, 1].max(axis=1) + 1.0).all()  # y is up
    assert len(H36M_MARKER_NAMES) == H36M.num_joints and "Neck_Nose" in H36M_MARKER_NAMES


def test_person_markers_root_relative_and_undetected_frames():
    """Without a trajectory the root marker stays at the origin; frames without a person become missing markers."""
    rng = np.random.default_rng(6)
    poses = rng.normal(scale=0.3, size=(5, H36M.num_joints, 3))
    poses -= poses[:, :1]
    rotation = upright_rotation(np.array([0.0, -1.0, 0.0]))
    detected = np.array([True, False, True, True, False])
    markers = person_markers(poses, rotation, detected=detected)
    np.testing.assert_allclose(markers[detected][:, 0], 0.0, atol=1e-15)
    assert np.isnan(markers[~detected]).all() and not np.isnan(markers[detected]).any()
    np.testing.assert_allclose(np.linalg.norm(markers[detected], axis=-1), np.linalg.norm(poses[detected], axis=-1))
    with pytest.raises(InputError, match="trajectory"):
        person_markers(poses, rotation, np.zeros((4, 3)))
    with pytest.raises(InputError, match="rotation"):
        person_markers(poses, 2.0 * rotation)


@pytest.mark.parametrize("change, message", [
    (lambda m, n: (m[:, :, :2], n), "shape"),
    (lambda m, n: (m, n[:3]), "3 marker names for 4 markers"),
    (lambda m, n: (m, ("Hip", "Hip", "A", "B")), "repeat"),
    (lambda m, n: (m, ("Neck/Nose", "A", "B", "C")), "OpenSim refuses"),
    (lambda m, n: (m, ("L Knee", "A", "B", "C")), "whitespace"),
    (lambda m, n: (np.where(np.isnan(m), np.inf, m), n), "infinite"),
])
def test_bad_input_raises_and_leaves_the_old_file(tmp_path: Path, change, message):
    """Bad markers or names raise InputError naming the problem; the file already there stays, no temporary is left."""
    path = tmp_path / "out.trc"
    path.write_text("previous")
    markers, names = change(markers_with_gaps(), NAMES)
    with pytest.raises(InputError, match=message):
        write_trc(path, markers, names, 50.0)
    assert path.read_text() == "previous" and [p.name for p in tmp_path.iterdir()] == ["out.trc"]


def test_bad_rate_units_or_first_frame_write_nothing(tmp_path: Path):
    """A non-positive rate, an unknown unit or a negative first frame raise InputError and create no file."""
    path = tmp_path / "none.trc"
    for options in ({"fps": 0.0}, {"fps": float("nan")}, {"fps": 50.0, "units": "cm"},
                    {"fps": 50.0, "first_frame": -1}):
        with pytest.raises(InputError):
            write_trc(path, markers_with_gaps(), NAMES, **options)
    assert list(tmp_path.iterdir()) == []


def test_a_write_failing_after_the_data_leaves_no_temporary(tmp_path: Path):
    """When the finished file cannot take its name (a folder is there), the write fails and no temporary remains."""
    (tmp_path / "taken.trc").mkdir()
    with pytest.raises(OSError):
        write_trc(tmp_path / "taken.trc", markers_with_gaps(), NAMES, 50.0)
    assert [p.name for p in tmp_path.iterdir()] == ["taken.trc"] and (tmp_path / "taken.trc").is_dir()
