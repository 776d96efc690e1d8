"""The Human3.6M 17-joint skeleton as data; bones and symmetric pairs are derived from it.

Glossary: J joints (17), B bones (16). Bone ``i`` runs from joint ``parents[i + 1]`` to joint
``i + 1``, so bone indices are joint indices minus one. Joint order and parents follow the
17-joint subset of Human3.6M used by VideoPose3D (common/h36m_dataset.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np


@dataclass(frozen=True)
class Skeleton:
    """A kinematic tree: joint names, each joint's parent (-1 for the root) and left/right joints."""

    joint_names: tuple[str, ...]
    parents: tuple[int, ...]
    joints_left: tuple[int, ...]
    joints_right: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.joint_names) != len(self.parents):
            raise ValueError(f"{len(self.joint_names)} joint names but {len(self.parents)} parents")
        if self.parents[0] != -1 or any(not 0 <= p < j for j, p in enumerate(self.parents[1:], 1)):
            raise ValueError("parents must list the root first (-1) and every parent before its child")
        if len(self.joints_left) != len(self.joints_right):
            raise ValueError("joints_left and joints_right must pair up one to one")

    @property
    def num_joints(self) -> int:
        return len(self.parents)

    @property
    def num_bones(self) -> int:
        return len(self.parents) - 1

    @property
    def bone_children(self) -> tuple[int, ...]:
        """Joint at the end of each bone: bone i ends at joint i + 1."""
        return tuple(range(1, self.num_joints))

    @property
    def bone_parents(self) -> tuple[int, ...]:
        """Joint at the start of each bone."""
        return self.parents[1:]

    @property
    def bone_names(self) -> tuple[str, ...]:
        return tuple(f"{self.joint_names[p]}-{self.joint_names[c]}"
                     for p, c in zip(self.bone_parents, self.bone_children))

    @property
    def bones_left(self) -> tuple[int, ...]:
        return tuple(j - 1 for j in self.joints_left)

    @property
    def bones_right(self) -> tuple[int, ...]:
        return tuple(j - 1 for j in self.joints_right)

    @property
    def symmetric_bones(self) -> tuple[tuple[int, int], ...]:
        """(right bone, left bone) pairs whose lengths a body shares."""
        return tuple(zip(self.bones_right, self.bones_left))

    @cached_property
    def ancestor_matrix(self) -> np.ndarray:
        """(J, B) float64 matrix; entry [j, b] is 1 when bone b lies on the path from the root to joint j.

        Joint positions relative to the root are ``ancestor_matrix @ bone_vectors``.
        """
        matrix = np.zeros((self.num_joints, self.num_bones))
        for joint in range(1, self.num_joints):
            matrix[joint] = matrix[self.parents[joint]]
            matrix[joint, joint - 1] = 1.0
        return matrix

    @cached_property
    def incidence_matrix(self) -> np.ndarray:
        """(B, J) float64 matrix; ``incidence_matrix @ poses`` gives bone vectors child - parent."""
        matrix = np.zeros((self.num_bones, self.num_joints))
        matrix[np.arange(self.num_bones), self.bone_children] = 1.0
        matrix[np.arange(self.num_bones), self.bone_parents] = -1.0
        return matrix

    @cached_property
    def symmetric_average_matrix(self) -> np.ndarray:
        """(B, B) float64 matrix; ``lengths @ matrix`` averages each left/right bone pair."""
        matrix = np.eye(self.num_bones)
        for right, left in self.symmetric_bones:
            matrix[[right, left, right, left], [right, right, left, left]] = 0.5
        return matrix

    @cached_property
    def flip_permutation(self) -> np.ndarray:
        """(J,) int joint order of the mirrored body: left and right joints swapped."""
        order = np.arange(self.num_joints)
        order[list(self.joints_left)] = self.joints_right
        order[list(self.joints_right)] = self.joints_left
        return order


H36M = Skeleton(
    joint_names=("Hip", "RHip", "RKnee", "RFoot", "LHip", "LKnee", "LFoot", "Spine", "Thorax",
                 "Neck/Nose", "Head", "LShoulder", "LElbow", "LWrist", "RShoulder", "RElbow", "RWrist"),
    parents=(-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15),
    joints_left=(4, 5, 6, 11, 12, 13),
    joints_right=(1, 2, 3, 14, 15, 16),
)

NUM_JOINTS = H36M.num_joints
NUM_BONES = H36M.num_bones
