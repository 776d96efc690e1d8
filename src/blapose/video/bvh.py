"""BVH motion files of the Human3.6M skeleton: write adjusted poses, read them back.

Glossary: T frames, J joints (17, ``blapose.skeleton.H36M``), B bones (16). Positions are meters.

A BVH joint rotates everything below it, so joints with several children (Hip, Thorax) cannot
point each child bone its own way. The file therefore holds the 17 Human3.6M joints plus one
zero-offset joint per extra branch (``LHip_branch``, ``Spine_branch``, ``LShoulder_branch``,
``RShoulder_branch``), each carrying the rotation of one bone. Every bone's OFFSET is its rest
direction times its length, so the file has one constant length per bone: BLAPose's adjusted
poses (one length set per video) are reproduced exactly by forward kinematics. The rest pose is
each bone's mean direction over the clip. Rotation channels are Zrotation Xrotation Yrotation
(degrees, intrinsic Z-X-Y: R = Rz Rx Ry, the usual BVH order). The root also has position channels
(Xposition Yposition Zposition, meters, unrotated, in the file's frame): the root joint's position per
frame when the caller gives one (root motion), zero otherwise. The file's frame is the caller's (see
``outputs``: upright, y up).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..fileio import atomic_path
from ..geometry.rotations import quaternion_between
from ..skeleton import H36M

ROTATION_CHANNELS = ("Zrotation", "Xrotation", "Yrotation")
POSITION_CHANNELS = ("Xposition", "Yposition", "Zposition")


@dataclass(frozen=True)
class BvhJoint:
    """One BVH joint: name, parent index (-1 root), the Human3.6M bone it rotates (-1: none)."""

    name: str
    parent: int
    bone: int


def bvh_hierarchy() -> list[BvhJoint]:
    """BVH joints in file order (depth first). The joint rotating bone b sits where bone b starts."""
    joints: list[BvhJoint] = []

    def add(h36m_joint: int, parent: int) -> None:
        children = [c for c in range(1, H36M.num_joints) if H36M.parents[c] == h36m_joint]
        # The joint itself rotates its first child's bone; further children hang from branch joints.
        own_bone = children[0] - 1 if children else -1
        index = len(joints)
        joints.append(BvhJoint(H36M.joint_names[h36m_joint], parent, own_bone))
        for order, child in enumerate(children):
            start = index
            if order > 0:
                start = len(joints)
                joints.append(BvhJoint(f"{H36M.joint_names[child]}_branch", index, child - 1))
            add(child, start)

    add(0, -1)
    return joints


def _offsets(joints: list[BvhJoint], rest_directions: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """(N, 3) OFFSET of each BVH joint: bone vector of the bone ending at it, zero for branches/root."""
    offsets = np.zeros((len(joints), 3))
    for index, joint in enumerate(joints):
        if joint.parent >= 0 and not joint.name.endswith("_branch"):
            bone = H36M.joint_names.index(joint.name) - 1
            offsets[index] = rest_directions[bone] * lengths[bone]
    return offsets


def _format_hierarchy(joints: list[BvhJoint], offsets: np.ndarray) -> list[str]:
    lines = ["HIERARCHY"]
    children = {i: [c for c, j in enumerate(joints) if j.parent == i] for i in range(len(joints))}

    def emit(index: int, depth: int) -> None:
        pad = "  " * depth
        joint = joints[index]
        kind = "ROOT" if joint.parent < 0 else "JOINT"
        channels = (POSITION_CHANNELS if joint.parent < 0 else ()) + ROTATION_CHANNELS
        lines.extend([f"{pad}{kind} {joint.name}", f"{pad}{{",
                      f"{pad}  OFFSET {' '.join(f'{v:.6f}' for v in offsets[index])}",
                      f"{pad}  CHANNELS {len(channels)} {' '.join(channels)}"])
        for child in children[index]:
            emit(child, depth + 1)
        if not children[index]:
            lines.extend([f"{pad}  End Site", f"{pad}  {{", f"{pad}    OFFSET 0.000000 0.000000 0.000000",
                          f"{pad}  }}"])
        lines.append(f"{pad}}}")

    emit(0, 0)
    return lines


def write_bvh(path: str | os.PathLike, poses: np.ndarray, lengths: np.ndarray, fps: float,
              root_positions: np.ndarray | None = None) -> Path:
    """Write poses (T, J, 3) meters, root-relative, whose bones have lengths (B,) meters, as BVH.

    The poses must have constant bone lengths equal to ``lengths`` (BLAPose's adjusted poses) for
    the file to reproduce them. ``root_positions`` (T, 3) meters, in the poses' frame, is where the
    root joint is in each frame (root motion); it goes into the root's position channels, so forward
    kinematics of the file gives ``poses + root_positions[:, None]``. None keeps the root at the
    origin. Written whole or not at all.
    """
    from scipy.spatial.transform import Rotation

    poses = np.asarray(poses, dtype=np.float64)
    lengths = np.asarray(lengths, dtype=np.float64)
    if poses.ndim != 3 or poses.shape[1:] != (H36M.num_joints, 3) or len(poses) == 0:
        raise InputError(f"poses have shape {poses.shape}, expected (frames, {H36M.num_joints}, 3)")
    if lengths.shape != (H36M.num_bones,):
        raise InputError(f"BVH needs one bone length set of shape ({H36M.num_bones},), got {lengths.shape}")
    frames = len(poses)
    if root_positions is None:
        root_positions = np.zeros((frames, 3))
    root_positions = np.asarray(root_positions, dtype=np.float64)
    if root_positions.shape != (frames, 3):
        raise InputError(f"root_positions have shape {root_positions.shape}, expected ({frames}, 3): "
                         "one root position per frame of the poses")
    if not np.isfinite(root_positions).all():
        raise InputError("root_positions hold NaN or infinite values")
    vectors = poses[:, list(H36M.bone_children)] - poses[:, list(H36M.bone_parents)]
    directions = vectors / np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-12)
    rest = directions.mean(axis=0)
    rest /= np.maximum(np.linalg.norm(rest, axis=-1, keepdims=True), 1e-12)
    joints = bvh_hierarchy()
    global_rotations = []
    for joint in joints:
        if joint.bone < 0:
            global_rotations.append(Rotation.identity(frames))
        else:
            quaternion = quaternion_between(rest[joint.bone], directions[:, joint.bone])  # (T, 4) w, x, y, z
            global_rotations.append(Rotation.from_quat(np.roll(quaternion, -1, axis=-1)))  # scipy: x, y, z, w
    columns = [root_positions]
    for index, joint in enumerate(joints):
        local = global_rotations[index]
        if joint.parent >= 0:
            local = global_rotations[joint.parent].inv() * local
        columns.append(local.as_euler("ZXY", degrees=True))
    motion = np.concatenate(columns, axis=1)
    lines = _format_hierarchy(joints, _offsets(joints, rest, lengths))
    lines += ["MOTION", f"Frames: {frames}", f"Frame Time: {1.0 / fps:.8f}"]
    lines += [" ".join(f"{v:.6f}" for v in row) for row in motion]
    with atomic_path(path) as temporary:
        temporary.write_text("\n".join(lines) + "\n")
    return Path(path)


@dataclass
class BvhMotion:
    """A parsed BVH file: joint names, parents, offsets (N, 3), channel names per joint, motion (T, C)."""

    names: list[str]
    parents: list[int]
    offsets: np.ndarray
    channels: list[tuple[str, ...]]
    motion: np.ndarray
    frame_time: float


def read_bvh(path: str | os.PathLike) -> BvhMotion:
    """Parse a BVH file (any hierarchy; rotation channels in any order)."""
    tokens = Path(path).read_text().split()
    names, parents, offsets, channels = [], [], [], []
    stack: list[int] = []
    position = 0
    try:
        while tokens[position] != "MOTION":
            token = tokens[position]
            if token in ("ROOT", "JOINT"):
                names.append(tokens[position + 1])
                parents.append(stack[-1] if stack else -1)
                offsets.append([0.0, 0.0, 0.0])
                channels.append(())
                position += 2
            elif token == "End":
                depth = 0  # skip the End Site block
                position += 2
                while True:
                    depth += {"{": 1, "}": -1}.get(tokens[position], 0)
                    position += 1
                    if depth == 0:
                        break
            elif token == "{":
                stack.append(len(names) - 1)
                position += 1
            elif token == "}":
                stack.pop()
                position += 1
            elif token == "OFFSET":
                offsets[-1] = [float(v) for v in tokens[position + 1:position + 4]]
                position += 4
            elif token == "CHANNELS":
                count = int(tokens[position + 1])
                channels[-1] = tuple(tokens[position + 2:position + 2 + count])
                position += 2 + count
            else:
                position += 1
        frames = int(tokens[position + 2])
        frame_time = float(tokens[position + 5])
        values = np.array(tokens[position + 6:], dtype=np.float64)
        width = sum(len(c) for c in channels)
        motion = values.reshape(frames, width)
    except (IndexError, ValueError) as error:
        raise InputError(f"{path} is not a readable BVH file ({error})") from None
    return BvhMotion(names, parents, np.array(offsets), channels, motion, frame_time)


def forward_kinematics(bvh: BvhMotion) -> np.ndarray:
    """Joint positions (T, N, 3) of every BVH joint, in the file's units and frame.

    Position channels move a joint in its parent's frame (the root's: the file's frame) before the
    joint's rotation, as the BVH format defines.
    """
    from scipy.spatial.transform import Rotation

    frames = len(bvh.motion)
    positions = np.zeros((frames, len(bvh.names), 3))
    rotations = []
    column = 0
    for index, joint_channels in enumerate(bvh.channels):
        values = bvh.motion[:, column:column + len(joint_channels)]
        column += len(joint_channels)
        translation = np.zeros((frames, 3))
        axes, angles = "", []
        for name, value in zip(joint_channels, values.T):
            if name.endswith("position"):
                translation[:, "XYZ".index(name[0])] = value
            else:
                axes += name[0]
                angles.append(value)
        local = (Rotation.from_euler(axes, np.stack(angles, axis=1), degrees=True) if axes
                 else Rotation.identity(frames))
        parent = bvh.parents[index]
        if parent < 0:
            positions[:, index] = bvh.offsets[index] + translation
            rotations.append(local)
        else:
            positions[:, index] = positions[:, parent] + rotations[parent].apply(bvh.offsets[index] + translation)
            rotations.append(rotations[parent] * local)
    return positions


def read_bvh_poses(path: str | os.PathLike) -> np.ndarray:
    """Human3.6M joint positions (T, J, 3) from a BVH file written by ``write_bvh`` (forward kinematics).

    In the file's units and frame, root motion included: ``write_bvh``'s poses plus its root positions.
    """
    bvh = read_bvh(path)
    missing = [name for name in H36M.joint_names if name not in bvh.names]
    if missing:
        raise InputError(f"{path} lacks the Human3.6M joints {', '.join(missing)}")
    positions = forward_kinematics(bvh)
    return positions[:, [bvh.names.index(name) for name in H36M.joint_names]]
