"""Tests that ``import blapose`` and ``blapose --help`` stay light and that the lazy API still works."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SOURCE = Path(__file__).resolve().parents[1] / "src"
HEAVY = ("numpy", "torch", "scipy", "cv2", "matplotlib", "mediapipe", "anny")


def _environment() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(SOURCE), os.environ.get("PYTHONPATH", "")])}


def test_help_imports_nothing_heavy():
    """`python -X importtime -m blapose --help` succeeds without importing numpy, torch or the video libraries."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "blapose", "--help"], capture_output=True,
                          text=True, env=_environment(), timeout=60)
    assert done.returncode == 0 and "usage: blapose" in done.stdout
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert {"blapose.cli", "argparse"} <= imported  # the report is read right
    assert not {name.split(".")[0] for name in imported} & set(HEAVY)


def test_building_the_parser_leaves_heavy_modules_unimported():
    """After `import blapose.cli; build_parser()` in a fresh interpreter sys.modules holds none of the heavy libraries."""
    code = ("import sys, blapose.cli; blapose.cli.build_parser(); "
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_environment(),
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_api_is_reachable_from_the_package():
    """blapose.adjust_poses (looked up lazily) gives a pose the requested bone lengths; unknown names still fail."""
    import blapose
    from blapose.bones import bone_lengths
    from blapose.skeleton import H36M

    poses = np.random.default_rng(0).normal(size=(3, H36M.num_joints, 3))
    lengths = np.linspace(0.1, 0.4, H36M.num_bones)
    np.testing.assert_allclose(bone_lengths(blapose.adjust_poses(poses, lengths)), np.broadcast_to(lengths, (3, 16)))
    assert set(blapose.__all__) <= set(dir(blapose))
    from blapose import adjust_files, adjustment_report  # noqa: F401  (from-imports resolve too)

    with pytest.raises(AttributeError):
        _ = blapose.no_such_function
