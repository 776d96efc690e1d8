"""Test material for BVH files: a walk with a jump in the BVH's upright frame, and an independent reader.

Frames: the upright frame of ``blapose.video.outputs`` (y up), meters. Glossary: T frames, J joints (17).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from blapose.bones import adjust_poses
from blapose.data.motion import simulate_action
from blapose.skeleton import H36M

# The built-in motion's world frame (z up) -> the upright frame (y up): (x, y, z) -> (x, z, -y).
Z_UP_TO_Y_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])


def walk_with_jump(lengths: np.ndarray, frames: int, jump_height: float,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(poses (T, J, 3) root-relative, root positions (T, 3)), meters, upright frame (y up).

    The built-in walking motion (50 fps) of a body with bone ``lengths`` (B,), whose root rises by
    up to ``jump_height`` meters (a parabola) over the middle third of the clip: a jump off the floor.
    """
    world = simulate_action("Walking", lengths, frames, rng).astype(np.float64) @ Z_UP_TO_Y_UP.T
    roots = world[:, 0].copy()
    start, stop = frames // 3, 2 * frames // 3
    phase = np.linspace(0.0, 1.0, stop - start)
    roots[start:stop, 1] += 4.0 * jump_height * phase * (1.0 - phase)
    return adjust_poses(world - world[:, :1], lengths), roots


def bvhio_joint_positions(path: Path, frames: list[int]) -> np.ndarray:
    """Human3.6M joint positions (len(frames), J, 3) of a BVH file as the bvhio library computes them."""
    import bvhio

    hierarchy = bvhio.readAsHierarchy(str(path))
    positions = []
    for frame in frames:
        hierarchy.loadPose(frame)
        by_name = {joint.Name: np.array(joint.PositionWorld) for joint, _, _ in hierarchy.layout()}
        positions.append(np.stack([by_name[name] for name in H36M.joint_names]))
    return np.stack(positions)
