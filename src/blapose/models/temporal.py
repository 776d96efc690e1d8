"""VideoPose3D's dilated temporal convolution model that lifts 2D keypoints to 3D poses.

Glossary: B batch, T frames, J joints, C input features per joint (2), R receptive field (frames).
Input keypoints (B, T, J, C) are VideoPose3D-normalised screen coordinates; output poses
(B, T - R + 1, J, 3) are meters, camera frame, relative to the root joint.

Two forms share one set of parameters (Pavllo et al., CVPR 2019):
- ``TemporalModel`` uses dilated convolutions and predicts every frame of a padded sequence;
- ``SingleFrameTemporalModel`` uses strided convolutions and predicts one frame from a window of
  exactly R frames, which is what training batches hold; it skips the unused intermediate frames.
Parameter names and shapes are those of facebookresearch/VideoPose3D common/model.py, so its
checkpoints ('model_pos' of pretrained_h36m_cpn.bin) load into either form unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch
from torch import nn

from ..errors import InputError


def check_filter_widths(filter_widths: Sequence[int]) -> None:
    """Raise ``InputError`` unless the widths are at least one odd integer >= 1."""
    if len(filter_widths) == 0 or any(w < 1 or w % 2 == 0 for w in filter_widths):
        raise InputError(f"filter widths must be odd positive integers, got {tuple(filter_widths)}")


def receptive_field(filter_widths: Sequence[int]) -> int:
    """Frames one output frame sees: the product of the filter widths (243 for 3,3,3,3,3)."""
    return math.prod(filter_widths)


class _TemporalConvolutions(nn.Module):
    """Parameters and forward pass shared by both forms; ``strided`` picks the form."""

    def __init__(self, filter_widths: Sequence[int], *, strided: bool, num_joints_in: int = 17,
                 in_features: int = 2, num_joints_out: int = 17, channels: int = 1024,
                 dropout: float = 0.25) -> None:
        super().__init__()
        check_filter_widths(filter_widths)
        self.filter_widths = tuple(int(w) for w in filter_widths)
        self.num_joints_in = num_joints_in
        self.in_features = in_features
        self.num_joints_out = num_joints_out
        self.channels = channels
        self.strided = strided

        first = self.filter_widths[0]
        self.expand_conv = nn.Conv1d(num_joints_in * in_features, channels, first,
                                     stride=first if strided else 1, bias=False)
        self.expand_bn = nn.BatchNorm1d(channels, momentum=0.1)
        convolutions, norms = [], []
        self.dilations = []
        dilation = first
        for width in self.filter_widths[1:]:
            self.dilations.append(dilation)
            if strided:
                convolutions.append(nn.Conv1d(channels, channels, width, stride=width, bias=False))
            else:
                convolutions.append(nn.Conv1d(channels, channels, width, dilation=dilation, bias=False))
            convolutions.append(nn.Conv1d(channels, channels, 1, bias=False))
            norms += [nn.BatchNorm1d(channels, momentum=0.1), nn.BatchNorm1d(channels, momentum=0.1)]
            dilation *= width
        self.layers_conv = nn.ModuleList(convolutions)
        self.layers_bn = nn.ModuleList(norms)
        self.shrink = nn.Conv1d(channels, num_joints_out * 3, 1)
        self.drop = nn.Dropout(dropout)
        self.relu = nn.ReLU(inplace=True)

    def receptive_field(self) -> int:
        """Input frames per output frame (R)."""
        return receptive_field(self.filter_widths)

    def set_bn_momentum(self, momentum: float) -> None:
        """Set the running-statistics momentum of every batch norm layer."""
        self.expand_bn.momentum = momentum
        for norm in self.layers_bn:
            norm.momentum = momentum

    def _residual(self, x: torch.Tensor, block: int) -> torch.Tensor:
        width = self.filter_widths[block + 1]
        if self.strided:
            return x[:, :, width // 2::width]
        pad = (width - 1) * self.dilations[block] // 2
        return x[:, :, pad:x.shape[2] - pad]

    def forward(self, keypoints_2d: torch.Tensor) -> torch.Tensor:
        """Lift keypoints (B, T, J_in, C) to root-relative poses (B, T_out, J_out, 3), meters."""
        if keypoints_2d.ndim != 4 or keypoints_2d.shape[2:] != (self.num_joints_in, self.in_features):
            raise ValueError(f"expected keypoints of shape (B, T, {self.num_joints_in}, {self.in_features}), "
                             f"got {tuple(keypoints_2d.shape)}")
        frames = keypoints_2d.shape[1]
        field = self.receptive_field()
        if frames < field or (self.strided and frames % field != 0):
            need = "a multiple of" if self.strided else "at least"
            raise ValueError(f"{type(self).__name__} needs {need} {field} input frames, got {frames}")
        batch = keypoints_2d.shape[0]
        x = keypoints_2d.reshape(batch, frames, -1).transpose(1, 2)
        x = self.drop(self.relu(self.expand_bn(self.expand_conv(x))))
        for block in range(len(self.filter_widths) - 1):
            residual = self._residual(x, block)
            x = self.drop(self.relu(self.layers_bn[2 * block](self.layers_conv[2 * block](x))))
            x = residual + self.drop(self.relu(self.layers_bn[2 * block + 1](self.layers_conv[2 * block + 1](x))))
        x = self.shrink(x)
        return x.transpose(1, 2).reshape(batch, -1, self.num_joints_out, 3)

    def architecture(self) -> dict:
        """Keyword arguments that rebuild this model in either form."""
        return {"filter_widths": self.filter_widths, "num_joints_in": self.num_joints_in,
                "in_features": self.in_features, "num_joints_out": self.num_joints_out,
                "channels": self.channels, "dropout": self.drop.p}


class TemporalModel(_TemporalConvolutions):
    """Dilated form: predicts T - R + 1 frames from T input frames; used on whole sequences."""

    def __init__(self, filter_widths: Sequence[int], *, num_joints_in: int = 17, in_features: int = 2,
                 num_joints_out: int = 17, channels: int = 1024, dropout: float = 0.25) -> None:
        super().__init__(filter_widths, strided=False, num_joints_in=num_joints_in,
                         in_features=in_features, num_joints_out=num_joints_out,
                         channels=channels, dropout=dropout)


class SingleFrameTemporalModel(_TemporalConvolutions):
    """Strided form: predicts the middle frame of each R-frame window; used for training batches."""

    def __init__(self, filter_widths: Sequence[int], *, num_joints_in: int = 17, in_features: int = 2,
                 num_joints_out: int = 17, channels: int = 1024, dropout: float = 0.25) -> None:
        super().__init__(filter_widths, strided=True, num_joints_in=num_joints_in,
                         in_features=in_features, num_joints_out=num_joints_out,
                         channels=channels, dropout=dropout)


def convert_form(model: _TemporalConvolutions, single_frame: bool) -> _TemporalConvolutions:
    """A copy of ``model`` in the requested form with the same weights, in the same train/eval mode."""
    kind = SingleFrameTemporalModel if single_frame else TemporalModel
    converted = kind(**model.architecture())
    converted.load_state_dict(model.state_dict())
    return converted.train(model.training).to(next(model.parameters()).device)


def architecture_from_state_dict(state_dict: Mapping[str, torch.Tensor]) -> dict:
    """Filter widths, channels and joint counts that a VideoPose3D-style state dict was built with."""
    required = ("expand_conv.weight", "shrink.weight")
    missing = [name for name in required if name not in state_dict]
    if missing:
        raise InputError(f"not a temporal model state dict: missing {', '.join(missing)} "
                         f"(found {', '.join(list(state_dict)[:4])}, ...)")
    expand = state_dict["expand_conv.weight"]
    widths = [int(expand.shape[2])]
    block = 0
    while f"layers_conv.{2 * block}.weight" in state_dict:
        widths.append(int(state_dict[f"layers_conv.{2 * block}.weight"].shape[2]))
        block += 1
    return {"filter_widths": tuple(widths), "channels": int(expand.shape[0]),
            "input_size": int(expand.shape[1]),
            "num_joints_out": int(state_dict["shrink.weight"].shape[0]) // 3}


def load_temporal_state(model: _TemporalConvolutions, state_dict: Mapping[str, torch.Tensor],
                        source: str = "checkpoint") -> None:
    """Load a VideoPose3D-style state dict into ``model``; mismatched architectures raise ``InputError``."""
    found = architecture_from_state_dict(state_dict)
    expected = (model.filter_widths, model.channels, model.num_joints_in * model.in_features,
                model.num_joints_out)
    got = (found["filter_widths"], found["channels"], found["input_size"], found["num_joints_out"])
    if got != expected:
        raise InputError(
            f"{source} holds a temporal model with -arc {','.join(map(str, got[0]))}, {got[1]} channels, "
            f"{got[2]} inputs and {got[3]} output joints, but -arc {','.join(map(str, expected[0]))} "
            f"with {expected[1]} channels was asked for")
    model.load_state_dict(dict(state_dict), strict=True)
