"""Blender reads blapose's BVH files as written: its own importer puts every joint where blapose's poses have it.

Blender (3.4, Debian's package) runs as a separate ``blender -b`` process on ``blender_bone_heads.py``,
which imports the file with Blender's BVH importer (``bpy.ops.import_anim.bvh``) at its default axes
(forward -Z, up Y) and scale 1, and writes every bone's world-space head per frame. Blender 3.4's
importer opens the file with mode 'rU', which Python 3.11 refuses; the script gives the importer
module an ``open`` that drops the 'U'. Blender makes one bone per BVH joint, named after it, with its
head at the joint, so bone "RKnee"'s head is the RKnee joint. The zero-offset helper joints
(``LHip_branch``...) keep their bones, which run from the branching joint to the helper's child; the
"zero length" bones Blender reports are the end joints (feet, head, wrists: zero End Site offsets),
whose tails it moves, never their heads. Skipped where the ``blender`` executable is not installed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from blapose.data.synthetic import MEAN_LENGTHS
from blapose.skeleton import H36M
from blapose.video.bvh import read_bvh, write_bvh
from bvh_support import walk_with_jump

BLENDER = shutil.which("blender")
SCRIPT = Path(__file__).with_name("blender_bone_heads.py")
TIMEOUT_SECONDS = 300
# Blender's default BVH axes (forward -Z, up Y) turn the file's (x, y, z) into Blender's (x, -z, y).
BVH_TO_BLENDER = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])

pytestmark = pytest.mark.skipif(BLENDER is None, reason="the blender executable is not installed "
                                "(Debian: apt-get install blender)")


def output_tail(stdout: str | bytes | None, stderr: str | bytes | None, lines: int = 40) -> str:
    """The last lines of a process's output, for a failure message (Blender prints a lot)."""
    text = "\n".join(part.decode(errors="replace") if isinstance(part, bytes) else part
                     for part in (stdout, stderr) if part)
    return "\n".join(text.splitlines()[-lines:])


def blender_bone_heads(bvh_path: Path, out_path: Path) -> tuple[list[str], int, np.ndarray]:
    """(bone names, first frame, heads (T, N, 3) meters, Blender's world frame) from Blender's import."""
    command = [BLENDER, "-b", "--factory-startup", "--python-exit-code", "1", "--python", str(SCRIPT),
               "--", str(bvh_path), str(out_path)]
    try:
        finished = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired as error:
        pytest.fail(f"blender ran past {TIMEOUT_SECONDS} s; its output ended:\n"
                    f"{output_tail(error.stdout, error.stderr)}")
    if finished.returncode != 0 or not out_path.is_file():
        pytest.fail(f"blender exited with {finished.returncode}; its output ended:\n"
                    f"{output_tail(finished.stdout, finished.stderr)}")
    content = json.loads(out_path.read_text())
    return content["bones"], content["first_frame"], np.array(content["heads"])


def test_blender_puts_every_joint_where_the_poses_and_root_motion_have_it(tmp_path):
    """Blender's BVH import of a walk with a jump gives poses + root positions at every bone head (1e-4 m)."""
    poses, roots = walk_with_jump(MEAN_LENGTHS, 60, 0.3, np.random.default_rng(4))
    expected = (poses + roots[:, None]) @ BVH_TO_BLENDER.T
    feet = expected[:, [H36M.joint_names.index("RFoot"), H36M.joint_names.index("LFoot")], 2]
    assert feet[30].min() > feet.min() + 0.2  # the jump leaves the floor (Blender's z is up)
    path = write_bvh(tmp_path / "walk_jump.bvh", poses, MEAN_LENGTHS, fps=50.0, root_positions=roots)
    names, first_frame, heads = blender_bone_heads(path, tmp_path / "heads.json")
    assert names == read_bvh(path).names  # one bone per BVH joint, helpers included, none renamed
    assert first_frame == 1 and heads.shape == (60, len(names), 3)
    joints = heads[:, [names.index(name) for name in H36M.joint_names]]
    np.testing.assert_allclose(joints, expected, atol=1e-4)
