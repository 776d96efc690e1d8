"""BLAPose's fine-tuning model: bone directions from a temporal model, bone lengths held fixed.

Glossary: B batch, T frames, R receptive field, J joints (17), P bones (16).

The lifting model's output is split into unit bone directions and the pose is rebuilt from those
directions and per-video bone lengths, which come either from fixed predicted lengths (the
bone-length model's inference output, the way BLAPose fine-tunes) or from the bone-length model
run on the whole 2D sequence (the way BLAPose evaluates). Only the temporal model learns; the
length model's parameters stay fixed. Submodule names ``direction_model`` and ``length_model``
are those of BLAPose utils/model_mix.py, so its 'model_pos' state dicts load unchanged.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from ..bones import bones_to_poses, poses_to_bones, symmetrize_lengths
from ..errors import InputError
from ..skeleton import H36M, Skeleton


class MixOutput(NamedTuple):
    """poses (B, T_out, J, 3) meters, camera frame, root at the origin; directions (B, T_out, P, 3) unit
    vectors of the temporal model's pose; lengths (B, P) meters used to rebuild the poses."""

    poses: torch.Tensor
    directions: torch.Tensor
    lengths: torch.Tensor


class MixModel(nn.Module):
    """A temporal (direction) model composed with an optional, frozen bone-length model.

    direction_model: maps keypoints (B, T, J, 2) to poses (B, T_out, J, 3) (either temporal form).
    length_model: maps keypoints (B, T, J, 2) to bone lengths (B, P) meters, or None when lengths
    are always given.
    """

    def __init__(self, direction_model: nn.Module, length_model: nn.Module | None = None,
                 skeleton: Skeleton = H36M) -> None:
        super().__init__()
        self.direction_model = direction_model
        self.length_model = length_model
        self.skeleton = skeleton
        if getattr(length_model, "camera_inputs", False):
            raise InputError("a camera-aware length model (--recipe camera) cannot be composed with -t mix, which "
                             "gives it no camera: predict the lengths with blapose infer-lengths and pass them")
        if length_model is not None:
            length_model.requires_grad_(False)
            length_model.eval()

    def train(self, mode: bool = True) -> MixModel:
        """Switch the direction model's mode; the length model always stays in eval mode."""
        super().train(mode)
        if self.length_model is not None:
            self.length_model.eval()
        return self

    def receptive_field(self) -> int:
        return self.direction_model.receptive_field()

    def set_bn_momentum(self, momentum: float) -> None:
        self.direction_model.set_bn_momentum(momentum)

    @torch.no_grad()
    def predict_lengths(self, keypoints_2d: torch.Tensor) -> torch.Tensor:
        """Symmetric bone lengths (B, P) meters from whole sequences of keypoints (B, T, J, 2)."""
        if self.length_model is None:
            raise ValueError("this model has no length model; pass the bone lengths")
        return symmetrize_lengths(self.length_model(keypoints_2d), self.skeleton)

    def forward(self, keypoints_2d: torch.Tensor, lengths: torch.Tensor | None = None) -> MixOutput:
        """Rebuild poses from the temporal model's directions and ``lengths`` (B, P) meters.

        Without ``lengths`` the length model predicts them from the same keypoints (B, T, J, 2).
        """
        if lengths is None:
            lengths = self.predict_lengths(keypoints_2d)
        if lengths.shape != (keypoints_2d.shape[0], self.skeleton.num_bones):
            raise ValueError(f"expected lengths of shape ({keypoints_2d.shape[0]}, {self.skeleton.num_bones}), "
                             f"got {tuple(lengths.shape)}")
        directions, _ = poses_to_bones(self.direction_model(keypoints_2d), self.skeleton)
        poses = bones_to_poses(directions, lengths[:, None, :], skeleton=self.skeleton)
        return MixOutput(poses=poses, directions=directions, lengths=lengths)
