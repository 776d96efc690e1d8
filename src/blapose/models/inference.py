"""Running a lifting model (or a fine-tuned mix model) on one sequence, for datasets and videos alike.

Glossary: T frames, J joints (17), P bones (16), R receptive field. Keypoints are
VideoPose3D-normalised screen coordinates (T, J, 2); poses are meters, camera frame.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..bones import bones_to_poses, poses_to_bones
from ..skeleton import H36M, Skeleton
from .mix import MixModel
from .temporal import SingleFrameTemporalModel, TemporalModel, convert_form


def flip_keypoints(points: np.ndarray, skeleton: Skeleton = H36M) -> np.ndarray:
    """Mirror points (..., J, D) horizontally: negate x and swap left and right joints."""
    mirrored = points[..., skeleton.flip_permutation, :].copy()
    mirrored[..., 0] *= -1
    return mirrored


def flip_bone_lengths(lengths: np.ndarray, skeleton: Skeleton = H36M) -> np.ndarray:
    """Bone lengths (..., P) of the mirrored body: left and right bones swapped."""
    bone_order = skeleton.flip_permutation[1:] - 1
    return lengths[..., bone_order]


def whole_sequence_form(model: nn.Module) -> nn.Module:
    """The whole-sequence form of a lifting model (either form) or of a mix model's direction model."""
    if isinstance(model, MixModel):
        if isinstance(model.direction_model, SingleFrameTemporalModel):
            return MixModel(convert_form(model.direction_model, single_frame=False), model.length_model)
        return model
    if isinstance(model, SingleFrameTemporalModel):
        return convert_form(model, single_frame=False)
    if isinstance(model, TemporalModel):
        return model
    raise TypeError(f"expected a temporal or mix model, got {type(model).__name__}")


def _unflip_average(poses: torch.Tensor) -> torch.Tensor:
    """Mean of poses (2, T, J, 3) where the second is a mirrored prediction, mirrored back."""
    unflipped = poses[1][:, torch.from_numpy(H36M.flip_permutation)] * poses.new_tensor([-1.0, 1.0, 1.0])
    return (poses[0] + unflipped) / 2


@torch.no_grad()
def predict_sequence(model: nn.Module, keypoints_2d: np.ndarray, lengths: np.ndarray | None = None,
                     flip: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Poses of one sequence: (raw, final), each (T, J, 3) float32, meters, camera frame.

    keypoints_2d (T, J, 2) are edge-padded by R // 2 frames per side so every frame gets a pose.
    ``raw`` is the temporal model's output as it comes: not re-centred, its root joint wherever
    the model puts it (VideoPose3D scores it so). ``final`` is ``raw`` for a lifting model, and for
    a mix model the root-relative pose rebuilt from raw's bone directions and ``lengths`` (16,)
    meters (``lengths`` None: the mix model's length model predicts them from the whole unpadded
    sequence). ``flip`` averages with the mirrored input's prediction (VideoPose3D's test-time
    augmentation), separately for raw and final.
    """
    model = whole_sequence_form(model).eval()
    temporal = model.direction_model if isinstance(model, MixModel) else model
    device = next(temporal.parameters()).device
    pad = (temporal.receptive_field() - 1) // 2
    inputs = [keypoints_2d, flip_keypoints(keypoints_2d)] if flip else [keypoints_2d]
    padded = np.stack([np.pad(k, ((pad, pad), (0, 0), (0, 0)), mode="edge") for k in inputs])
    raw = temporal(torch.from_numpy(padded.astype(np.float32)).to(device))
    final = raw
    if isinstance(model, MixModel):
        if lengths is None:
            unpadded = torch.from_numpy(np.stack(inputs).astype(np.float32)).to(device)
            length_batch = model.predict_lengths(unpadded)
        else:
            variants = [lengths, flip_bone_lengths(lengths)] if flip else [lengths]
            length_batch = torch.from_numpy(np.stack(variants).astype(np.float32)).to(device)
        directions, _ = poses_to_bones(raw)  # bone vectors: the root's position drops out
        final = bones_to_poses(directions, length_batch[:, None, :])
    if flip:
        raw, final = _unflip_average(raw), _unflip_average(final)
    else:
        raw, final = raw[0], final[0]
    return raw.float().cpu().numpy(), final.float().cpu().numpy()
