"""Tests of C3D marker files: read back with ezc3d and with the independent `c3d` reader; missing points; errors.

Frames: markers in the upright frame (y up), meters in, millimetres in the file. Glossary: T frames, M markers.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from blapose.errors import InputError
from blapose.video.c3d import write_c3d

NAMES = ("Hip", "LKnee", "Neck_Nose", "RWrist")


def markers_with_gaps(frames: int = 6) -> np.ndarray:
    """Markers (T, 4, 3) meters with gaps: marker 1 in frame 2, one coordinate of the last marker in frame 4."""
    markers = np.random.default_rng(8).normal(scale=0.8, size=(frames, len(NAMES), 3))
    markers[2, 1] = np.nan
    markers[4, 3, 2] = np.nan
    return markers


def missing(markers: np.ndarray) -> np.ndarray:
    return np.isnan(markers).any(axis=-1)


def test_ezc3d_reads_labels_rate_millimetres_and_missing_points(tmp_path: Path):
    """ezc3d reads back the labels, rate, unit 'mm', first frame, values times 1000, residual -1 where missing."""
    ezc3d = pytest.importorskip("ezc3d", reason="ezc3d not installed (pip install 'blapose[c3d]')")
    markers = markers_with_gaps()
    path = write_c3d(tmp_path / "person.c3d", markers, NAMES, 60.0, first_frame=9)
    c3d = ezc3d.c3d(str(path))
    point = c3d["parameters"]["POINT"]
    assert list(point["LABELS"]["value"]) == list(NAMES)
    assert point["RATE"]["value"][0] == 60.0 and point["UNITS"]["value"] == ["mm"]
    assert point["X_SCREEN"]["value"] == ["+X"] and point["Y_SCREEN"]["value"] == ["+Y"]
    assert c3d["header"]["points"]["first_frame"] == 9 and c3d["header"]["points"]["last_frame"] == 14
    read = c3d["data"]["points"][:3].transpose(2, 1, 0)  # (T, M, 3), millimetres
    assert read.shape == markers.shape
    gaps = missing(markers)
    np.testing.assert_allclose(read[~gaps], markers[~gaps] * 1000.0, rtol=1e-6, atol=1e-3)
    assert np.isnan(read[gaps]).all()
    residuals = c3d["data"]["meta_points"]["residuals"][0].T  # (T, M)
    assert np.array_equal(residuals, np.where(gaps, -1.0, 0.0))


def test_independent_c3d_reader_agrees(tmp_path: Path):
    """The pure-Python `c3d` package reads the same labels, rate, frames, millimetres and residual -1 gaps."""
    pytest.importorskip("ezc3d", reason="ezc3d not installed (pip install 'blapose[c3d]')")
    c3d = pytest.importorskip("c3d", reason="the c3d package (an independent reader) is not installed")
    markers = markers_with_gaps()
    path = write_c3d(tmp_path / "person.c3d", markers, NAMES, 29.97)
    with path.open("rb") as handle, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "No analog data found in file."
        reader = c3d.Reader(handle)
        labels = [label.strip() for label in reader.point_labels]
        rate, first, last = reader.point_rate, reader.first_frame, reader.last_frame
        units = reader.get("POINT:UNITS").string_value.strip()
        frames = [points for _, points, _ in reader.read_frames()]
    assert labels == list(NAMES) and units == "mm" and (first, last) == (1, len(markers))
    assert rate == pytest.approx(29.97, rel=1e-6)
    points = np.stack(frames)  # (T, M, 5): x, y, z, residual, cameras
    gaps = missing(markers)
    assert np.array_equal(points[..., 3], np.where(gaps, -1.0, 0.0))
    np.testing.assert_allclose(points[..., :3][~gaps], markers[~gaps] * 1000.0, rtol=1e-6, atol=1e-3)


def test_missing_library_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Without ezc3d importable, write_c3d raises InputError naming the blapose[c3d] extra and writes nothing."""
    monkeypatch.setitem(sys.modules, "ezc3d", None)  # makes `import ezc3d` fail as if it were not installed
    with pytest.raises(InputError, match=r"pip install 'blapose\[c3d\]'"):
        write_c3d(tmp_path / "none.c3d", markers_with_gaps(), NAMES, 50.0)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("markers, names, fps, message", [
    (np.zeros((5, 4, 2)), NAMES, 50.0, "shape"),
    (np.zeros((5, 4, 3)), NAMES[:2], 50.0, "2 marker names for 4 markers"),
    (np.zeros((5, 4, 3)), ("A", "B", "C", "A"), 50.0, "repeat"),
    (np.zeros((5, 4, 3)), NAMES, -1.0, "frame rate"),
    (np.zeros((5, 1, 3)), ("x" * 256,), 50.0, "not a C3D label"),
    (np.zeros((5, 1, 3)), ("Hüfte",), 50.0, "not a C3D label"),
])
def test_bad_input_raises_and_leaves_the_old_file(tmp_path: Path, markers, names, fps, message):
    """Bad markers, names or rate raise InputError; the file already there stays and no temporary is left."""
    path = tmp_path / "out.c3d"
    path.write_bytes(b"previous")
    with pytest.raises(InputError, match=message):
        write_c3d(path, markers, names, fps)
    assert path.read_bytes() == b"previous" and [p.name for p in tmp_path.iterdir()] == ["out.c3d"]


def test_a_write_failing_after_the_data_leaves_no_temporary(tmp_path: Path):
    """When the finished file cannot take its name (a folder is there), the write fails and no temporary remains."""
    pytest.importorskip("ezc3d", reason="ezc3d not installed (pip install 'blapose[c3d]')")
    (tmp_path / "taken.c3d").mkdir()
    with pytest.raises(OSError):
        write_c3d(tmp_path / "taken.c3d", markers_with_gaps(), NAMES, 50.0)
    assert [p.name for p in tmp_path.iterdir()] == ["taken.c3d"] and (tmp_path / "taken.c3d").is_dir()
