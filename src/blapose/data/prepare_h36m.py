"""Human3.6M data files from the original recordings: ``data_3d_h36m.npz`` and ``data_2d_h36m_gt.npz``.

Two sources, as VideoPose3D's ``data/prepare_data_h36m.py`` reads them (facebookresearch/VideoPose3D):
- the original ``.cdf`` files, ``<DIR>/S*/MyPoseFeatures/D3_Positions/<sequence>.cdf``: variable
  ``Pose`` of shape (1, T, 96), 32 joints x (x, y, z) in millimetres, world frame;
- the ``h36m.zip`` archive of Martinez et al.'s preprocessing (una-dinosauria/3d-pose-baseline),
  ``h36m/S*/MyPoses/3D_positions/<sequence>.h5``: dataset ``3D_positions`` of shape (96, T),
  row ``3 * joint + axis``, millimetres, world frame.

Sequence names become VideoPose3D's ('TakingPhoto 1' -> 'Photo 1', 'WalkingDog' -> 'WalkDog');
S11's 'Directions' is left out (its video is corrupt; VideoPose3D discards it too). Only the
seven subjects with a published camera calibration (S1, S5, S6, S7, S8, S9, S11) are read.
Poses are converted once, here, to float32 meters; the 2D file holds the 17 kept joints
projected through the four real cameras (lens distortion included), in pixels.

Glossary: T frames.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..geometry.camera import H36M_SUBJECTS
from ..progress import Progress
from .h36m import (
    KEPT_JOINTS_OF_32,
    ground_truth_keypoints_2d,
    keypoints_2d_path,
    keypoints_metadata,
    poses_3d_path,
    write_h36m_npz,
)

INSTALL_HINT = "pip install 'blapose[h36m]'"
NUM_SOURCE_JOINTS = 32
#: (subject, sequence) pairs left out: the corrupt S11 'Directions' recording (VideoPose3D).
SKIPPED_SEQUENCES = frozenset({("S11", "Directions")})
#: Original sequence-name parts -> VideoPose3D's names.
ACTION_RENAMES = (("TakingPhoto", "Photo"), ("WalkingDog", "WalkDog"))
#: Sequences per subject in the complete recordings (S11 has one fewer once 'Directions' is skipped).
SEQUENCES_PER_SUBJECT = 30

_CDF_LAYOUT = "S*/MyPoseFeatures/D3_Positions/*.cdf"
_ARCHIVE_LAYOUT = "h36m/S*/MyPoses/3D_positions/*.h5"
# A member path ending in S<n>/MyPoses/3D_positions/<sequence>.h5; hidden files (macOS "._" copies) are not poses.
_ARCHIVE_MEMBER = re.compile(r"(?:^|/)(S\d+)/MyPoses/3D_positions/([^/.][^/]*)\.h5$")

Positions3D = dict[str, dict[str, np.ndarray]]


def canonical_sequence_name(name: str) -> str:
    """VideoPose3D's name of a Human3.6M sequence: 'TakingPhoto 1' -> 'Photo 1', 'WalkingDog' -> 'WalkDog'."""
    for original, renamed in ACTION_RENAMES:
        name = name.replace(original, renamed)
    return name


def millimetres_to_poses(values: np.ndarray, source: str) -> np.ndarray:
    """Flat joint coordinates (..., T * 96) or (T, 96), millimetres -> (T, 32, 3) float32 meters."""
    values = np.asarray(values)
    if values.size == 0 or values.size % (NUM_SOURCE_JOINTS * 3) or not np.issubdtype(values.dtype, np.number):
        raise InputError(f"{source}: pose data of shape {values.shape} and type {values.dtype} is not "
                         f"T frames x {NUM_SOURCE_JOINTS * 3} coordinates")
    poses = values.reshape(-1, NUM_SOURCE_JOINTS, 3).astype(np.float64) / 1000.0
    if not np.isfinite(poses).all():
        frame = int(np.argwhere(~np.isfinite(poses))[0, 0])
        raise InputError(f"{source}: NaN or infinite coordinates (first at frame {frame})")
    return poses.astype(np.float32)


def _add_sequence(positions: Positions3D, subject: str, raw_name: str, poses: np.ndarray,
                  sources: dict[tuple[str, str], str], source: str) -> None:
    name = canonical_sequence_name(raw_name)
    if (subject, name) in sources:
        raise InputError(f"{source}: sequence '{name}' of {subject} is also given by {sources[subject, name]}")
    sources[subject, name] = source
    positions.setdefault(subject, {})[name] = poses


def _ordered(positions: Positions3D) -> Positions3D:
    """Subjects in calibration order, sequences sorted by name."""
    return {subject: dict(sorted(positions[subject].items())) for subject in H36M_SUBJECTS if subject in positions}


def _source_cdf_files(source_dir: Path) -> list[tuple[str, str, Path]]:
    """(subject, raw sequence name, path) of every D3_Positions cdf file of a calibrated subject."""
    if not source_dir.is_dir():
        raise InputError(f"{source_dir}: no such folder (expected the Human3.6M folder holding {_CDF_LAYOUT})")
    files = []
    for subject in H36M_SUBJECTS:
        for path in sorted((source_dir / subject / "MyPoseFeatures" / "D3_Positions").glob("*.cdf")):
            if not path.name.startswith(".") and (subject, path.stem) not in SKIPPED_SEQUENCES:
                files.append((subject, path.stem, path))  # hidden files (macOS "._" copies) are not poses
    if not files:
        raise InputError(f"{source_dir}: no Human3.6M pose files found (expected {_CDF_LAYOUT} for subjects "
                         f"{', '.join(H36M_SUBJECTS)})")
    return files


def read_source_cdf(source_dir: str | os.PathLike, show_progress: bool = True) -> Positions3D:
    """Read the original D3_Positions cdf files -> {subject: {sequence: (T, 32, 3) float32 meters, world}}."""
    try:
        import cdflib
    except ImportError:
        raise InputError(f"reading .cdf files needs cdflib; install it with: {INSTALL_HINT}") from None
    files = _source_cdf_files(Path(source_dir))
    positions: Positions3D = {}
    sources: dict[tuple[str, str], str] = {}
    bar = Progress(len(files), "Human3.6M cdf files", unit="file", enabled=show_progress)
    for subject, raw_name, path in files:
        try:
            pose = cdflib.CDF(str(path)).varget("Pose")
        except Exception as error:  # cdflib raises many kinds of error on a damaged file
            detail = str(error).replace(str(path), "the file")
            raise InputError(f"{path}: not a readable CDF file with a 'Pose' variable "
                             f"({type(error).__name__}: {detail})") from None
        _add_sequence(positions, subject, raw_name, millimetres_to_poses(pose, str(path)), sources, str(path))
        bar.update()
    bar.close()  # closed on success only: a failure ends with its one-line error, not a "done" line
    return _ordered(positions)


def _archive_members(archive: zipfile.ZipFile, archive_path: Path) -> Iterator[tuple[str, str, str]]:
    """(subject, raw sequence name, member name) of the archive's 3D pose files of calibrated subjects."""
    found = False
    for member in sorted(archive.namelist()):
        match = _ARCHIVE_MEMBER.search(member)
        if match is None or member.startswith("__MACOSX/"):
            continue
        found = True
        subject, raw_name = match.groups()
        if subject in H36M_SUBJECTS and (subject, raw_name) not in SKIPPED_SEQUENCES:
            yield subject, raw_name, member
    if not found:
        raise InputError(f"{archive_path}: no {_ARCHIVE_LAYOUT} files in this archive")


def read_archive(archive_path: str | os.PathLike, show_progress: bool = True) -> Positions3D:
    """Read Martinez et al.'s ``h36m.zip`` -> {subject: {sequence: (T, 32, 3) float32 meters, world}}.

    The h5 files are read from the archive in memory; nothing is extracted to disk.
    """
    try:
        import h5py
    except ImportError:
        raise InputError(f"reading the h36m.zip archive needs h5py; install it with: {INSTALL_HINT}") from None
    archive_path = Path(archive_path)
    if not archive_path.is_file():
        raise InputError(f"{archive_path}: no such file (expected the h36m.zip archive)")
    try:
        archive = zipfile.ZipFile(archive_path)
    except (zipfile.BadZipFile, OSError) as error:
        raise InputError(f"{archive_path}: not a zip archive ({error})") from None
    positions: Positions3D = {}
    sources: dict[tuple[str, str], str] = {}
    with archive:
        members = list(_archive_members(archive, archive_path))
        bar = Progress(len(members), "Human3.6M h5 files", unit="file", enabled=show_progress)
        for subject, raw_name, member in members:
            source = f"{archive_path}:{member}"
            try:
                with h5py.File(io.BytesIO(archive.read(member)), "r") as content:
                    dataset = content.get("3D_positions")
                    values = None if dataset is None else dataset[()]
            except Exception as error:  # zip CRC errors, damaged HDF5 data
                raise InputError(f"{source}: not a readable HDF5 file ({type(error).__name__}: {error})") from None
            if values is None:
                raise InputError(f"{source}: no '3D_positions' dataset")
            if values.ndim != 2 or values.shape[0] != NUM_SOURCE_JOINTS * 3:
                raise InputError(f"{source}: '3D_positions' has shape {values.shape}, expected "
                                 f"({NUM_SOURCE_JOINTS * 3}, frames)")
            _add_sequence(positions, subject, raw_name, millimetres_to_poses(values.T, source), sources, source)
            bar.update()
        bar.close()
    return _ordered(positions)


def ground_truth_2d(positions_3d: Positions3D, show_progress: bool = True) -> dict[str, dict[str, list[np.ndarray]]]:
    """{subject: {sequence: (T, 32, 3) meters, world}} -> {subject: {sequence: [4 x (T, 17, 2) float32 pixels]}}."""
    count = sum(len(sequences) for sequences in positions_3d.values())
    keypoints: dict[str, dict[str, list[np.ndarray]]] = {}
    with Progress(count, "ground-truth 2D", unit="sequence", enabled=show_progress) as bar:
        for subject, sequences in positions_3d.items():
            keypoints[subject] = {}
            for name, poses in sequences.items():
                keypoints[subject][name] = ground_truth_keypoints_2d(poses[:, KEPT_JOINTS_OF_32], subject)
                bar.update()
    return keypoints


def prepare_h36m(positions_3d: Positions3D, out_dir: str | os.PathLike, source: str,
                 show_progress: bool = True) -> list[Path]:
    """Write ``data_3d_h36m.npz`` and ``data_2d_h36m_gt.npz`` of ``positions_3d`` into ``out_dir``.

    Both are computed before either is written; each file appears only when complete.
    """
    positions_2d = ground_truth_2d(positions_3d, show_progress)
    path_3d, path_2d = poses_3d_path(out_dir), keypoints_2d_path(out_dir, "gt")
    return [write_h36m_npz(path_3d, positions_3d=positions_3d),
            write_h36m_npz(path_2d, positions_2d=positions_2d, metadata=keypoints_metadata(source))]


def incomplete_subjects(positions_3d: Positions3D) -> list[str]:
    """Subjects with fewer sequences than the complete recordings hold (30; 29 for S11 without 'Directions')."""
    return [subject for subject, sequences in positions_3d.items()
            if len(sequences) < SEQUENCES_PER_SUBJECT - sum(skipped == subject for skipped, _ in SKIPPED_SEQUENCES)]


def sequence_counts(positions_3d: Positions3D) -> str:
    """One line: sequences and frames per subject, e.g. 'S1: 30 sequences, 120,000 frames; S5: ...'."""
    return "; ".join(f"{subject}: {len(sequences)} sequences, {sum(map(len, sequences.values())):,} frames"
                     for subject, sequences in positions_3d.items())
