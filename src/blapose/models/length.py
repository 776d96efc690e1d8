"""The BLAPose bone-length model: a (bi)GRU that reads a 2D keypoint sequence and predicts 16 lengths.

Glossary: B sequences in a batch, T frames, J joints (17), L bones (16), E embedding width (256),
H GRU hidden size (512). Inputs are VideoPose3D-normalised screen coordinates (B, T, J, 2);
outputs are bone lengths in meters, bone ``i`` ending at joint ``i + 1`` (``blapose.skeleton``).

Architecture and parameter names follow upstream BLAPose ``utils/model_length.py`` so its
checkpoints load with ``load_state_dict(strict=True)``: per frame ``expand_conv`` (Linear J*2 -> E),
ReLU, dropout; then either one bidirectional GRU (``gru``) or two unidirectional GRUs run side by
side (``gru.0``, ``gru.1``); the last layer's final hidden states are concatenated (bidirectional:
backward direction first, then forward), passed through a sigmoid and a bias-free ``fc``
(2H -> L). Left/right lengths are averaged when predicting (``predict_lengths``).

A unidirectional model can also run causally: its prediction after frame t uses frames <= t only,
exactly what carrying the GRU state from frame to frame gives (upstream ``--causal``).

A camera-aware model (``camera_inputs``, blapose's ``--recipe camera``) also reads each video's
calibration vector (B, 13) (``blapose.geometry.floor.calibration_vector``: intrinsics, the camera's pitch
and roll as the world's up direction, its height above the floor) and sees each frame as the
keypoints back-projected onto the person's vertical plane through the standing ankle, in meters
(``floor_features``): the floor and the camera fix the person's distance, so the image fixes the
body's metric size.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from ..bones import symmetrize_lengths
from ..errors import InputError
from ..geometry.camera import viewing_rays
from ..geometry.floor import CALIBRATION_SIZE, calibration_vector, person_plane_points
from ..progress import Progress
from ..skeleton import H36M, Skeleton

Key = tuple[str, str, int]
#: How frames are combined: upstream's GRU (final hidden states) or the mean of per-frame features.
TEMPORAL_KINDS = ("gru", "pool")
#: Magnification of the 2D bone vectors when the model reads bones (``bone_inputs``): a thigh spans
#: about 0.2 normalised units, a 5 % size change 0.01, too small a difference for the first layer.
BONE_INPUT_SCALE = 10.0
#: Standing height (meters) of the lower ankle above the floor a camera-aware model assumes when
#: none is given (the built-in data's; training measures it on the training videos).
DEFAULT_ANKLE_HEIGHT = 0.08
#: GRU states of a causal run: one (num_layers, B, H) tensor per unidirectional GRU.
CausalState = tuple[torch.Tensor, ...]


class BoneLengthModel(nn.Module):
    """(bi)GRU from keypoints (B, T, J, 2) to bone lengths (B, J - 1), meters, not yet symmetrised.

    Upstream's head outputs the lengths directly. With ``reference_lengths`` (J - 1,) meters the
    head outputs log-lengths relative to them (their mean over bones is the log of the body's
    scale, the rest its log-proportions), starting from the reference itself; the reference is a
    buffer, so it travels in the state dict. With ``bone_inputs`` each frame is read as the root's
    2D position and the 16 2D bone vectors magnified ``BONE_INPUT_SCALE`` times (same input width).
    ``temporal='pool'`` replaces the GRU by a per-frame layer (E -> 2H, ReLU) averaged over the
    frames: any length of context, causal by running means, and far cheaper to train on a CPU.
    ``proportions_only`` (log head only) centres the log output over the bones: the predicted body
    keeps the reference's overall size (geometric mean) and only its proportions change.
    ``camera_inputs`` (pooled, proportions-only log head) adds a second pooled branch of the same
    sizes that reads each frame as ``floor_features`` of the keypoints and the video's calibration,
    with the ankle standing ``ankle_height`` meters above the floor, and predicts the body's
    log-scale (``scale_fc``): the proportions come from the 2D bones, the size from the camera.
    """

    def __init__(self, num_joints: int = H36M.num_joints, embed_dim: int = 256, hidden_size: int = 512,
                 num_layers: int = 1, dropout: float = 0.25, bidirectional: bool = False,
                 reference_lengths: np.ndarray | None = None, bone_inputs: bool = False,
                 temporal: str = "gru", proportions_only: bool = False, camera_inputs: bool = False,
                 ankle_height: float = DEFAULT_ANKLE_HEIGHT) -> None:
        super().__init__()
        if temporal not in TEMPORAL_KINDS:
            raise InputError(f"temporal must be one of {', '.join(TEMPORAL_KINDS)}, got {temporal!r}")
        self.num_joints = num_joints
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.temporal = temporal
        self.bidirectional = bidirectional and temporal == "gru"
        gru_dropout = dropout if num_layers > 1 else 0.0
        self.expand_conv = nn.Linear(num_joints * 2, embed_dim)
        if temporal == "pool":  # per-frame features, averaged over the frames
            self.frame_mlp = nn.Linear(embed_dim, 2 * hidden_size)
        elif bidirectional:
            self.gru = nn.GRU(embed_dim, hidden_size, num_layers, dropout=gru_dropout,
                              bidirectional=True, batch_first=True)
        else:
            self.gru = nn.ModuleList([
                nn.GRU(embed_dim, hidden_size, num_layers, dropout=gru_dropout, batch_first=True)
                for _ in range(2)
            ])
        self.fc = nn.Linear(2 * hidden_size, num_joints - 1, bias=False)
        self.drop = nn.Dropout(dropout)
        self.bone_inputs = bone_inputs
        if bone_inputs:  # per frame: root position and the 2D bone vectors, the latter magnified
            self.register_buffer("bone_input_scale", torch.tensor(BONE_INPUT_SCALE))
        self.log_output = reference_lengths is not None
        if self.log_output:  # lengths = reference * exp(output): log-scale plus log-proportions
            reference = torch.as_tensor(np.asarray(reference_lengths, dtype=np.float32))
            if reference.shape != (num_joints - 1,) or not bool((reference > 0).all()):
                raise InputError(f"reference lengths must be {num_joints - 1} positive meters, "
                                 f"got shape {tuple(reference.shape)}")
            self.register_buffer("reference_lengths", reference)
            nn.init.zeros_(self.fc.weight)
        self.proportions_only = proportions_only
        if proportions_only:  # the body's size stays the reference's: only proportions are predicted
            if not self.log_output:
                raise InputError("proportions_only needs reference lengths (the log head)")
            self.register_buffer("fixed_scale", torch.tensor(1.0))
        self.camera_inputs = camera_inputs
        if camera_inputs:  # a second branch: keypoints on the person's plane (meters) -> log-scale
            if temporal != "pool" or not proportions_only:
                raise InputError("camera inputs need the pooled model with the proportions-only log head")
            self.register_buffer("ankle_height", torch.tensor(float(ankle_height)))
            self.camera_conv = nn.Linear(num_joints * 2, embed_dim)
            self.camera_mlp = nn.Linear(embed_dim, 2 * hidden_size)
            self.scale_fc = nn.Linear(2 * hidden_size, 1, bias=False)
            nn.init.zeros_(self.scale_fc.weight)

    @property
    def predicts_size(self) -> bool:
        """Whether the model predicts the body's size (else it keeps the reference's, or has no reference)."""
        return self.camera_inputs or not self.proportions_only

    def _lengths(self, output: torch.Tensor, log_scale: torch.Tensor | None = None) -> torch.Tensor:
        """Lengths (..., J - 1) meters from the head's output: as is, or ``reference * exp(output)``
        (centred over the bones for proportions only, plus ``log_scale`` (..., 1) when given)."""
        if self.proportions_only:
            output = output - output.mean(dim=-1, keepdim=True)
        if log_scale is not None:
            output = output + log_scale
        if self.log_output:
            return self.reference_lengths * torch.exp(output)
        return output

    def _embed(self, keypoints: torch.Tensor) -> torch.Tensor:
        """Per-frame features (B, T, E) of keypoints (B, T, J, 2)."""
        batch, frames = keypoints.shape[:2]
        if self.bone_inputs:
            keypoints = magnified_bones(keypoints, self.bone_input_scale)
        return self.drop(torch.relu(self.expand_conv(keypoints.reshape(batch, frames, -1))))

    def _frame_features(self, keypoints: torch.Tensor, calibration: torch.Tensor | None) -> torch.Tensor:
        """Pooled model: per-frame features (B, T, 2H), or (B, T, 4H) with the camera branch's after them."""
        features = torch.relu(self.frame_mlp(self._embed(keypoints)))
        if not self.camera_inputs:
            return features
        if calibration is None:
            raise InputError("this length model reads the camera (--recipe camera): it needs each video's "
                             "calibration, which videos without one (e.g. blapose video) do not have")
        plane = floor_features(keypoints, calibration.to(keypoints.dtype), float(self.ankle_height))
        camera = self.drop(torch.relu(self.camera_conv(plane.reshape(*plane.shape[:2], -1))))
        return torch.cat([features, torch.relu(self.camera_mlp(camera))], dim=-1)

    def _pooled_lengths(self, pooled: torch.Tensor) -> torch.Tensor:
        """Lengths (..., J - 1) from frame features averaged over frames (..., 2H or 4H)."""
        width = self.fc.in_features
        log_scale = self.scale_fc(pooled[..., width:]) if self.camera_inputs else None
        return self._lengths(self.fc(pooled[..., :width]), log_scale)

    def forward(self, keypoints: torch.Tensor, calibration: torch.Tensor | None = None) -> torch.Tensor:
        """Lengths (B, J - 1) in meters from the whole sequence keypoints (B, T, J, 2) (and, for a
        camera-aware model, each video's calibration vector (B, 13))."""
        if self.temporal == "pool":
            return self._pooled_lengths(self._frame_features(keypoints, calibration).mean(dim=1))
        features = self._embed(keypoints)
        if self.bidirectional:
            _, final = self.gru(features)
            hidden = torch.cat([final[-1], final[-2]], dim=-1)  # last layer: backward, forward
        else:
            hidden = torch.cat([gru(features)[1][-1] for gru in self.gru], dim=-1)
        return self._lengths(self.fc(torch.sigmoid(hidden)))

    def step(self, keypoints: torch.Tensor, state: CausalState | None = None,
             calibration: torch.Tensor | None = None) -> tuple[torch.Tensor, CausalState]:
        """Causal run over new frames (B, t, J, 2): lengths after each frame (B, t, J - 1) and the new state.

        Feeding a sequence in pieces, passing each returned state to the next call, gives the same
        lengths as one call on the whole sequence. Unidirectional models only.
        """
        if self.bidirectional:
            raise InputError("only a unidirectional (GRU) length model can run causally; "
                             "this one is bidirectional (-bi)")
        if self.temporal == "pool":  # state: (sum of the frame features so far (B, 2H or 4H), frames seen (B, 1))
            total = self._frame_features(keypoints, calibration).cumsum(dim=1)
            count = torch.arange(1, total.shape[1] + 1, device=total.device, dtype=total.dtype)[None, :, None]
            if state is not None:
                total, count = total + state[0][:, None], count + state[1][:, None]
            return self._pooled_lengths(total / count), (total[:, -1], count[:, -1].expand(len(total), 1))
        features = self._embed(keypoints)
        outputs, finals = [], []
        for index, gru in enumerate(self.gru):
            output, final = gru(features, None if state is None else state[index])
            outputs.append(output)
            finals.append(final)
        return self._lengths(self.fc(torch.sigmoid(torch.cat(outputs, dim=-1)))), tuple(finals)

    def per_frame(self, keypoints: torch.Tensor, calibration: torch.Tensor | None = None) -> torch.Tensor:
        """Causal lengths (B, T, J - 1): entry t sees frames 0..t only. Not for bidirectional GRUs."""
        return self.step(keypoints, calibration=calibration)[0]


def magnified_bones(keypoints: torch.Tensor, scale: torch.Tensor | float = BONE_INPUT_SCALE,
                    skeleton: Skeleton = H36M) -> torch.Tensor:
    """Points (..., J, 2) -> (..., J, 2): the root's point, then the 16 bone vectors times ``scale``."""
    parents = torch.as_tensor(skeleton.parents[1:], device=keypoints.device)
    bones = (keypoints[..., 1:, :] - keypoints[..., parents, :]) * scale
    return torch.cat([keypoints[..., :1, :], bones], dim=-2)


def floor_features(keypoints: torch.Tensor, calibration: torch.Tensor, ankle_height: float) -> torch.Tensor:
    """Camera-aware per-frame input (B, T, J, 2): ``magnified_bones`` of the keypoints on the person's plane.

    keypoints (B, T, J, 2) normalised screen coordinates; calibration (B, 13) of each video's camera
    (``blapose.geometry.floor.calibration_vector``). Each keypoint's viewing ray is cut with the vertical plane
    through the standing ankle (``blapose.geometry.floor.person_plane_points``): (across, above the floor), meters.
    """
    rays = viewing_rays(keypoints, calibration[:, None, :9])
    frames = keypoints.shape[1]
    up = calibration[:, None, 9:12].expand(-1, frames, -1)
    height = calibration[:, None, 12].expand(-1, frames)
    return magnified_bones(person_plane_points(rays, up, height, ankle_height))


def model_kwargs_from_state_dict(state_dict: Mapping[str, torch.Tensor]) -> dict[str, Any]:
    """``BoneLengthModel`` keyword arguments that match the shapes and names of ``state_dict``.

    Raises ``InputError`` when the state dict is not a bone-length model's.
    """
    if "expand_conv.weight" not in state_dict or "fc.weight" not in state_dict:
        raise InputError("state dict is not a bone-length model's: expected 'expand_conv.weight' and "
                         f"'fc.weight', got {', '.join(list(state_dict)[:6])}...")
    embed_dim, inputs = state_dict["expand_conv.weight"].shape
    reference = state_dict.get("reference_lengths")
    extras = dict(reference_lengths=None if reference is None else reference.detach().cpu().numpy(),
                  bone_inputs="bone_input_scale" in state_dict, proportions_only="fixed_scale" in state_dict,
                  camera_inputs="ankle_height" in state_dict)
    if "ankle_height" in state_dict:
        extras["ankle_height"] = float(state_dict["ankle_height"])
    extras = {name: value for name, value in extras.items() if value is not None and value is not False}
    if "frame_mlp.weight" in state_dict:
        return dict(num_joints=inputs // 2, embed_dim=embed_dim, temporal="pool",
                    hidden_size=state_dict["frame_mlp.weight"].shape[0] // 2, **extras)
    bidirectional = "gru.weight_ih_l0" in state_dict
    prefix = "gru." if bidirectional else "gru.0."
    layers = sum(1 for name in state_dict if name.startswith(prefix + "weight_ih_l")
                 and not name.endswith("_reverse"))
    return dict(num_joints=inputs // 2, embed_dim=embed_dim,
                hidden_size=state_dict[prefix + "weight_hh_l0"].shape[1],
                num_layers=layers, bidirectional=bidirectional,
                **extras)


def architecture_record(model: BoneLengthModel, recipe: str = "") -> dict[str, Any]:
    """What a blapose checkpoint says about its length model (key 'architecture'): plain values only."""
    return {"model": "BoneLengthModel", "bidirectional": model.bidirectional, "num_layers": model.num_layers,
            "hidden_size": model.hidden_size, "embed_dim": model.expand_conv.out_features,
            "log_output": model.log_output, "bone_inputs": model.bone_inputs, "temporal": model.temporal,
            "proportions_only": model.proportions_only, "camera_inputs": model.camera_inputs, "recipe": recipe}


def length_model_from_checkpoint(checkpoint: Mapping[str, Any], source: str = "checkpoint",
                                 bidirectional: bool | None = None) -> BoneLengthModel:
    """An eval-mode model (CPU, dropout 0) holding the weights of ``checkpoint['model_pos']``.

    The architecture is read from the state dict; ``bidirectional`` (the ``-bi`` flag), when
    given, must agree with it, except that checkpoints written by blapose (which record their
    architecture under 'architecture') need no ``-bi`` and ignore it. ``source`` names the file in
    error messages.
    """
    if "model_pos" not in checkpoint:
        raise InputError(f"{source} has no 'model_pos' entry; keys: {', '.join(map(str, checkpoint))}")
    state_dict = checkpoint["model_pos"]
    kwargs = model_kwargs_from_state_dict(state_dict)
    if isinstance(checkpoint.get("architecture"), Mapping):
        bidirectional = None  # the recorded architecture stands in for the flag
    if bidirectional is not None and bidirectional != kwargs["bidirectional"]:
        kind = "bidirectional GRU (needs -bi)" if kwargs["bidirectional"] else "unidirectional GRU (drop -bi)"
        raise InputError(f"{source} holds a {kind} length model")
    model = BoneLengthModel(dropout=0.0, **kwargs)
    try:
        model.load_state_dict(state_dict, strict=True)
    except RuntimeError as error:
        raise InputError(f"{source} does not fit the bone-length model: {str(error).splitlines()[0]}") from None
    return model.eval()


#: Frames one GRU call holds at most (videos x frames of a time slice). Memory per frame is about
#: 12 KB (the GRUs' input projections and outputs), so a call stays under 1 GB.
MAX_FRAMES_PER_CALL = 1 << 16
#: Videos run side by side (one batch row each); measured by benchmarks/bench_infer_lengths.py.
MAX_BATCH = 64


def _as_keypoint_items(sequences: Iterable[Any] | Mapping[Key, np.ndarray]) -> list[tuple[Key, np.ndarray]]:
    """(key, keypoints (T, J, 2) float32) pairs from Sequence objects or a {key: keypoints} mapping."""
    if isinstance(sequences, Mapping):
        items = list(sequences.items())
    else:
        items = [(sequence.key, sequence.keypoints_2d) for sequence in sequences]
    checked = []
    for key, keypoints in items:
        keypoints = np.asarray(keypoints, dtype=np.float32)
        if keypoints.ndim != 3 or keypoints.shape[-1] != 2 or keypoints.shape[0] == 0:
            raise InputError(f"keypoints of {key} must have shape (T>0, J, 2), got {keypoints.shape}")
        if not np.isfinite(keypoints).all():
            raise InputError(f"keypoints of {key} contain NaN or infinite values")
        checked.append((tuple(key), keypoints))
    return checked


def _calibrations(sequences: Iterable[Any] | Mapping[Key, np.ndarray], keys: list[Key],
                  calibrations: Mapping[Key, np.ndarray] | None) -> dict[Key, np.ndarray]:
    """Calibration vectors (13,) float32 per video: given, or from each Sequence's ``camera``."""
    if calibrations is None and not isinstance(sequences, Mapping):
        calibrations = {sequence.key: calibration_vector(sequence.camera) for sequence in sequences}
    missing = [key for key in keys if calibrations is None or key not in calibrations]
    if missing:
        raise InputError(f"this length model reads the camera (--recipe camera) and no calibration was given "
                         f"for {len(missing)} video(s), e.g. {missing[0]}")
    vectors = {key: np.asarray(calibrations[key], dtype=np.float32) for key in keys}
    for key, vector in vectors.items():
        if vector.shape != (CALIBRATION_SIZE,) or not np.isfinite(vector).all():
            raise InputError(f"calibration of {key} must be {CALIBRATION_SIZE} finite values, got shape {vector.shape}")
    return vectors


def length_sorted_groups(frame_counts: np.ndarray, max_batch: int, max_frames: int | None = None
                         ) -> list[np.ndarray]:
    """Indices of videos in groups that run as one batch: longest first, consecutive in that order.

    A group has at most ``max_batch`` videos and, when ``max_frames`` is given, at most that many
    frames once padded to its longest video (a single longer video forms its own group).
    """
    order = np.argsort(-np.asarray(frame_counts), kind="stable")
    groups, current = [], []
    for index in order:
        padded = (len(current) + 1) * frame_counts[current[0] if current else index]
        if current and (len(current) == max_batch or (max_frames is not None and padded > max_frames)):
            groups.append(np.array(current))
            current = []
        current.append(index)
    if current:
        groups.append(np.array(current))
    return groups


def _padded_batch(keypoints: list[np.ndarray], device: torch.device) -> torch.Tensor:
    """Keypoints of videos (T_i, J, 2), longest first, zero-padded at the end into (B, T_0, J, 2)."""
    batch = np.zeros((len(keypoints), len(keypoints[0])) + keypoints[0].shape[1:], dtype=np.float32)
    for row, video in enumerate(keypoints):
        batch[row, :len(video)] = video
    return torch.from_numpy(batch).to(device)


def _unidirectional_per_frame(model: BoneLengthModel, batch: torch.Tensor, max_frames: int,
                              calibration: torch.Tensor | None = None) -> torch.Tensor:
    """Causal lengths (B, T, L) of a padded batch (B, T, J, 2), run in time slices that carry the state
    (GRU or pooled model); calibration (B, 13) for a camera-aware model.

    Entry [b, t] sees frames <= t only, so zero padding after a video's end leaves its own entries exact.
    """
    time_slice = max(1, max_frames // len(batch))
    state, pieces = None, []
    for start in range(0, batch.shape[1], time_slice):
        lengths, state = model.step(batch[:, start:start + time_slice], state, calibration)
        pieces.append(lengths)
    return torch.cat(pieces, dim=1)


def _bidirectional_final(model: BoneLengthModel, batch: torch.Tensor, frame_counts: list[int]) -> torch.Tensor:
    """Lengths (B, L) of a padded batch (B, T, J, 2), longest first, each from its own frames only.

    The GRU runs on a packed sequence, so the backward direction starts at each video's last frame;
    the head is ``BoneLengthModel.forward``'s (tests check equality with per-video calls).
    """
    from torch.nn.utils.rnn import pack_padded_sequence

    packed = pack_padded_sequence(model._embed(batch), torch.tensor(frame_counts), batch_first=True)
    _, final = model.gru(packed)
    return model._lengths(model.fc(torch.sigmoid(torch.cat([final[-1], final[-2]], dim=-1))))


@torch.inference_mode()
def predict_lengths(model: BoneLengthModel, sequences: Iterable[Any] | Mapping[Key, np.ndarray],
                    causal: bool = False, max_batch: int = MAX_BATCH, max_frames: int = MAX_FRAMES_PER_CALL,
                    progress: bool = False, calibrations: Mapping[Key, np.ndarray] | None = None
                    ) -> dict[Key, np.ndarray]:
    """Symmetric bone lengths per sequence, meters: {(subject, action, camera): (16,) or (T, 16)} float32.

    ``sequences`` are objects with ``key`` and ``keypoints_2d`` (T, J, 2) (``blapose.data.h36m.Sequence``)
    or a mapping {key: keypoints (T, J, 2)}, normalised screen coordinates. Non-causal: one length
    vector per sequence from all its frames. Causal: one per frame, from the frames up to it
    (unidirectional models only). Videos of any lengths run together, longest first, ``max_batch``
    per batch padded to the longest; a unidirectional model runs a batch in time slices of at most
    ``max_frames`` frames in all (carrying the GRU state), a bidirectional one packs the batch
    (at most ``max_frames`` padded frames). Results equal per-video calls to float tolerance.
    Lengths are returned as predicted, even if not positive: writers and the adjustment refuse those
    (``blapose.lengths.io.refused_videos``). ``progress`` reports videos done (``blapose.progress``).
    A camera-aware model also needs each video's calibration vector (13,): ``calibrations`` {key: vector},
    or taken from each Sequence's ``camera`` (``blapose.geometry.floor.calibration_vector``).
    """
    if causal and model.bidirectional:
        raise InputError("causal inference needs a unidirectional (GRU) length model; "
                         "this one is bidirectional (-bi)")
    sequences = sequences if isinstance(sequences, Mapping) else list(sequences)
    items = _as_keypoint_items(sequences)
    cameras = _calibrations(sequences, [key for key, _ in items], calibrations) if model.camera_inputs else None
    model.eval()
    device = next(model.parameters()).device
    frame_counts = np.array([len(keypoints) for _, keypoints in items])
    groups = length_sorted_groups(frame_counts, max_batch, max_frames if model.bidirectional else None)
    predictions: dict[Key, np.ndarray] = {}
    with Progress(total=len(items), description="bone lengths", unit="video", enabled=progress) as bar:
        for group in groups:
            counts = [int(frame_counts[i]) for i in group]
            batch = _padded_batch([items[i][1] for i in group], device)
            calibration = None if cameras is None else torch.from_numpy(
                np.stack([cameras[items[i][0]] for i in group])).to(device)
            if model.bidirectional:
                lengths = _bidirectional_final(model, batch, counts)
            else:
                per_frame = _unidirectional_per_frame(model, batch, max_frames, calibration)
                rows = torch.arange(len(group), device=device)
                lengths = per_frame if causal else per_frame[rows, torch.tensor(counts, device=device) - 1]
            lengths = symmetrize_lengths(lengths.float()).cpu().numpy()
            for row, index in enumerate(group):
                video = lengths[row, :counts[row]] if causal else lengths[row]
                predictions[items[index][0]] = np.ascontiguousarray(video, dtype=np.float32)
            bar.update(len(group))
    return {key: predictions[key] for key, _ in items}
