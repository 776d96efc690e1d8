"""Training, fine-tuning, prediction and evaluation of the 2D -> 3D lifting model.

Glossary: S sequences, T frames, J joints (17), P bones (16), R receptive field.
Poses are meters, camera frame, root-relative; keypoints are normalised screen coordinates.

- ``train_lifting_model``: supervised VideoPose3D training (run.py): MPJPE loss, flip
  augmentation, Adam with amsgrad, learning rate x0.95 and batch-norm momentum 0.1 -> 0.001 over
  the epochs.
- ``finetune``: BLAPose fine-tuning (train.py -t mix, main.py ``train_mix``): the pose is rebuilt
  from the lifting model's bone directions and the video's fixed predicted bone lengths; the loss
  is the MPJPE of the rebuilt pose plus the mean distance between predicted and true unit bone
  directions, both with weight 1.
- ``predict_poses``: whole-sequence predictions with flip test-time augmentation.
- ``evaluate_model``: action-wise Protocol 1 (MPJPE), Protocol 2 (P-MPJPE), N-MPJPE and MPJVE,
  aggregated by ``blapose.report.action_wise``.
- ``resolve_length_lookup``: predicted bone lengths per video, always keyed by
  (subject, action, camera), from ``lengths_dict.npz`` or ``lengths_list.npz``.

The command-line entry points ``run_from_args``, ``evaluate_from_args`` and ``predict_from_args``
(end of this module) map upstream flags to a ``PoseTrainConfig`` and these typed calls.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..bones import bones_to_poses, poses_to_bones
from ..errors import InputError
from ..models.mix import MixModel
from ..models.temporal import SingleFrameTemporalModel, TemporalModel, convert_form
from ..skeleton import H36M
from .chunks import ChunkBatch, ChunkedBatches, flip_bone_lengths, flip_keypoints

Key = tuple[str, str, int]
LengthLookup = Mapping[Key, np.ndarray]


# ----------------------------------------------------------------------------------------------
# Configuration
# ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PoseTrainConfig:
    """Settings of supervised lifting training and of fine-tuning (``lift_config``, ``finetune_config``).

    Learning rate decays by ``lr_decay`` after every epoch while it is >= ``min_learning_rate``;
    batch-norm momentum goes from ``initial_bn_momentum`` to ``final_bn_momentum`` exponentially
    over ``epochs`` (VideoPose3D run.py). ``batch_size`` counts frames.
    """

    filter_widths: tuple[int, ...] = (3, 3, 3, 3, 3)
    channels: int = 1024
    dropout: float = 0.25
    epochs: int = 80
    batch_size: int = 1024
    learning_rate: float = 1e-3
    lr_decay: float = 0.95
    min_learning_rate: float = 0.0
    initial_bn_momentum: float = 0.1
    final_bn_momentum: float = 0.001
    flip_augment: bool = True
    direction_loss_weight: float = 1.0
    seed: int = 5731
    progress: bool = True
    device: str | None = None

    @property
    def torch_device(self) -> torch.device:
        """The configured device; by default CUDA when available, else the CPU."""
        if self.device is not None:
            return torch.device(self.device)
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")

    def __post_init__(self) -> None:
        if self.epochs < 0 or self.batch_size < 1 or self.channels < 1:
            raise InputError(f"epochs, batch size and channels must be positive, got {self.epochs}, "
                             f"{self.batch_size}, {self.channels}")
        if not 0 <= self.dropout < 1 or self.learning_rate <= 0:
            raise InputError(f"dropout must lie in [0, 1) and the learning rate be positive, got "
                             f"{self.dropout} and {self.learning_rate}")


def lift_config(**overrides: Any) -> PoseTrainConfig:
    """VideoPose3D's supervised settings (-e 80 -b 1024 -lr 0.001 -lrd 0.95), with ``overrides``."""
    return replace(PoseTrainConfig(), **overrides)


def finetune_config(**overrides: Any) -> PoseTrainConfig:
    """BLAPose's fine-tuning settings (README: -e 40 -b 1024 -lr 4e-5; train.py: batch-norm momentum
    fixed at 0.001, decay stops below 1e-6), with ``overrides``."""
    defaults = PoseTrainConfig(epochs=40, learning_rate=4e-5, min_learning_rate=1e-6,
                               initial_bn_momentum=0.001, final_bn_momentum=0.001)
    return replace(defaults, **overrides)


def bn_momentum(config: PoseTrainConfig, epochs_done: int) -> float:
    """Batch-norm momentum after ``epochs_done`` epochs (VideoPose3D run.py's exponential schedule)."""
    ratio = config.initial_bn_momentum / config.final_bn_momentum
    return config.initial_bn_momentum * math.exp(-epochs_done / max(config.epochs, 1) * math.log(ratio))


def build_temporal_model(config: PoseTrainConfig, single_frame: bool) -> TemporalModel:
    """A fresh lifting model of the configured architecture, in the single-frame or whole-sequence form."""
    kind = SingleFrameTemporalModel if single_frame else TemporalModel
    return kind(config.filter_widths, channels=config.channels, dropout=config.dropout)


# ----------------------------------------------------------------------------------------------
# Losses and the training loop
# ----------------------------------------------------------------------------------------------

def mean_distance(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean Euclidean distance over the last axis: MPJPE for joints, direction error for bones."""
    return torch.linalg.vector_norm(predicted - target, dim=-1).mean()


def lifting_loss(model: nn.Module, batch: ChunkBatch, config: PoseTrainConfig) -> torch.Tensor:
    """MPJPE (meters) of the lifting model's poses against the root-relative targets."""
    return mean_distance(model(batch.keypoints_2d), batch.poses_3d)


def finetune_loss(model: MixModel, batch: ChunkBatch, config: PoseTrainConfig) -> torch.Tensor:
    """MPJPE of poses rebuilt with the batch's fixed lengths plus the weighted bone direction error."""
    output = model(batch.keypoints_2d, batch.lengths)
    target_directions, _ = poses_to_bones(batch.poses_3d)
    return mean_distance(output.poses, batch.poses_3d) + \
        config.direction_loss_weight * mean_distance(output.directions, target_directions)


@dataclass
class EpochResult:
    """What one epoch produced: its mean training loss (meters) and the state after it."""

    epoch: int
    train_loss: float
    learning_rate: float
    seconds: float
    extra: dict = field(default_factory=dict)


LossFunction = Callable[[nn.Module, ChunkBatch, PoseTrainConfig], torch.Tensor]
EpochCallback = Callable[[EpochResult, nn.Module, torch.optim.Optimizer, np.random.Generator], None]


def train_step(model: nn.Module, batch: ChunkBatch, optimizer: torch.optim.Optimizer,
               loss_function: LossFunction, config: PoseTrainConfig) -> float:
    """One optimiser step on ``batch`` (on the model's device); returns the loss before the step."""
    optimizer.zero_grad(set_to_none=True)
    loss = loss_function(model, batch, config)
    loss.backward()
    optimizer.step()
    return float(loss.detach())


def fit(model: nn.Module, batches: ChunkedBatches, loss_function: LossFunction, config: PoseTrainConfig,
        rng: np.random.Generator, on_epoch_end: EpochCallback | None = None,
        resume: Mapping[str, Any] | None = None) -> list[EpochResult]:
    """Train ``model`` (single-frame form, on the batches' device) until ``config.epochs``.

    ``resume``: a checkpoint dict written during an earlier run ('epoch', 'lr', 'optimizer',
    'random_state'); training continues after its epoch with its optimizer and shuffling state.
    Returns one result per epoch run.
    """
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(trainable, lr=config.learning_rate, amsgrad=True)
    first_epoch = 0 if resume is None else _resume(resume, optimizer, rng)
    model.set_bn_momentum(bn_momentum(config, first_epoch))
    results = []
    for epoch in range(first_epoch, config.epochs):
        start = time.perf_counter()
        model.train()
        total, count = 0.0, 0
        for batch in _progress(batches.epoch(rng), batches.num_batches, f"epoch {epoch + 1}", config.progress):
            total += train_step(model, batch, optimizer, loss_function, config) * len(batch.poses_3d)
            count += len(batch.poses_3d)
        learning_rate = optimizer.param_groups[0]["lr"]
        if learning_rate >= config.min_learning_rate:
            for group in optimizer.param_groups:
                group["lr"] *= config.lr_decay
        model.set_bn_momentum(bn_momentum(config, epoch + 1))
        result = EpochResult(epoch=epoch + 1, train_loss=total / max(count, 1),
                             learning_rate=learning_rate, seconds=time.perf_counter() - start)
        if on_epoch_end is not None:
            on_epoch_end(result, model, optimizer, rng)
        results.append(result)
    return results


def _resume(checkpoint: Mapping[str, Any], optimizer: torch.optim.Optimizer, rng: np.random.Generator) -> int:
    """Restore optimizer, learning rate and shuffling state from ``checkpoint``; returns its epoch."""
    if checkpoint.get("optimizer") is not None:
        try:
            optimizer.load_state_dict(checkpoint["optimizer"])
        except (ValueError, KeyError) as error:
            raise InputError(f"the checkpoint's optimizer state does not fit this model ({error})") from None
    else:
        print("WARNING: this checkpoint has no optimizer state; the optimizer starts afresh")
    if "lr" in checkpoint:
        for group in optimizer.param_groups:
            group["lr"] = float(checkpoint["lr"])
    state = checkpoint.get("random_state")
    if isinstance(state, dict) and "bit_generator" in state:
        rng.bit_generator.state = state
    return int(checkpoint.get("epoch", 0))


def _progress(iterable: Iterable, total: int, description: str, enabled: bool) -> Iterable:
    if not enabled:
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=description, leave=False, dynamic_ncols=True)


class _forked_torch_rng:
    """Run a block with torch's global generator seeded from ``seed`` and restore it afterwards."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def __enter__(self) -> None:
        self._fork = torch.random.fork_rng(devices=[])
        self._fork.__enter__()
        torch.manual_seed(self.seed)

    def __exit__(self, *exc: Any) -> None:
        self._fork.__exit__(*exc)


def _training_arrays(sequences: Sequence[Any]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    if len(sequences) == 0:
        raise InputError("no training sequences (check the subjects and the action filter)")
    return [s.keypoints_2d for s in sequences], [s.poses_root_relative for s in sequences]


def train_lifting_model(train_sequences: Sequence[Any], config: PoseTrainConfig,
                        model: nn.Module | None = None, on_epoch_end: EpochCallback | None = None,
                        resume: Mapping[str, Any] | None = None) -> TemporalModel:
    """Train a lifting model on ``train_sequences`` (``blapose.data.h36m.Sequence``) with MPJPE.

    Starts from ``model`` (either form) when given, else from a fresh model of the configured
    architecture drawn from ``config.seed``. ``resume``: see ``fit``. Returns the whole-sequence
    form, in eval mode, on the configured device.
    """
    keypoints, poses = _training_arrays(train_sequences)
    device = config.torch_device
    with _forked_torch_rng(config.seed):  # initial weights and dropout drawn from the seed
        single_frame = build_temporal_model(config, single_frame=True) if model is None \
            else convert_form(model, single_frame=True)
        single_frame.to(device)
        batches = ChunkedBatches(keypoints, poses, single_frame.receptive_field(), config.batch_size,
                                 flip=config.flip_augment, device=device)
        fit(single_frame, batches, lifting_loss, config, np.random.default_rng(config.seed), on_epoch_end,
            resume)
    return convert_form(single_frame, single_frame=False).eval()


def lengths_of_sequences(sequences: Sequence[Any], length_lookup: LengthLookup) -> np.ndarray:
    """Fixed bone lengths (S, P) meters of each sequence, found by its (subject, action, camera) key."""
    missing = [s.key for s in sequences if tuple(s.key) not in length_lookup]
    if missing:
        shown = ", ".join(map(str, missing[:3])) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        raise InputError(f"no predicted bone lengths for {shown}; run `blapose infer_lengths` for these "
                         "subjects")
    lengths = np.stack([np.asarray(length_lookup[tuple(s.key)], dtype=np.float32) for s in sequences])
    if lengths.shape[1:] != (H36M.num_bones,):
        raise InputError(f"predicted bone lengths must be one ({H36M.num_bones},) vector per video, got "
                         f"{lengths.shape[1:]} (per-frame causal lengths cannot drive fine-tuning)")
    if not np.isfinite(lengths).all() or (lengths <= 0).any():
        raise InputError("predicted bone lengths must be finite and positive")
    return lengths


def finetune(model: nn.Module, length_lookup: LengthLookup, train_sequences: Sequence[Any],
             config: PoseTrainConfig, on_epoch_end: EpochCallback | None = None,
             resume: Mapping[str, Any] | None = None) -> MixModel:
    """Fine-tune the directions of a lifting model with each video's fixed predicted bone lengths.

    model: a ``TemporalModel``/``SingleFrameTemporalModel`` or a ``MixModel`` (its length model is
    kept and stays fixed). length_lookup: {(subject, action, camera): (16,) meters} covering every
    training sequence. Returns a ``MixModel`` whose direction model is in the whole-sequence form,
    in eval mode; predict with ``predict_poses(model, sequences, length_lookup=...)`` or, when it
    has a length model, without a lookup.
    """
    length_model = model.length_model if isinstance(model, MixModel) else None
    directions = model.direction_model if isinstance(model, MixModel) else model
    device = config.torch_device
    mix = MixModel(convert_form(directions, single_frame=True), length_model).to(device)
    keypoints, poses = _training_arrays(train_sequences)
    lengths = lengths_of_sequences(train_sequences, length_lookup)
    batches = ChunkedBatches(keypoints, poses, mix.receptive_field(), config.batch_size,
                             flip=config.flip_augment, lengths=lengths, device=device)
    with _forked_torch_rng(config.seed):
        fit(mix, batches, finetune_loss, config, np.random.default_rng(config.seed), on_epoch_end, resume)
    return MixModel(convert_form(mix.direction_model, single_frame=False), length_model).eval()


# ----------------------------------------------------------------------------------------------
# Prediction
# ----------------------------------------------------------------------------------------------

def _whole_sequence_form(model: nn.Module) -> nn.Module:
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
    """Poses of one sequence: (raw, final), each (T, J, 3) float32, meters, camera frame, root-relative.

    keypoints_2d (T, J, 2) are edge-padded by R // 2 frames per side so every frame gets a pose.
    ``raw`` is the temporal model's output with its root joint moved to the origin; ``final`` is
    ``raw`` for a lifting model, and the pose rebuilt from raw's directions and ``lengths`` (16,)
    meters for a mix model (``lengths`` None: the mix model's length model predicts them from the
    whole unpadded sequence). ``flip`` averages with the mirrored input's prediction (VideoPose3D's
    test-time augmentation), separately for raw and final.
    """
    model = _whole_sequence_form(model).eval()
    temporal = model.direction_model if isinstance(model, MixModel) else model
    device = next(temporal.parameters()).device
    pad = (temporal.receptive_field() - 1) // 2
    inputs = [keypoints_2d, flip_keypoints(keypoints_2d)] if flip else [keypoints_2d]
    padded = np.stack([np.pad(k, ((pad, pad), (0, 0), (0, 0)), mode="edge") for k in inputs])
    raw = temporal(torch.from_numpy(padded.astype(np.float32)).to(device))
    raw = raw - raw[:, :, :1]
    final = raw
    if isinstance(model, MixModel):
        if lengths is None:
            unpadded = torch.from_numpy(np.stack(inputs).astype(np.float32)).to(device)
            length_batch = model.predict_lengths(unpadded)
        else:
            variants = [lengths, flip_bone_lengths(lengths)] if flip else [lengths]
            length_batch = torch.from_numpy(np.stack(variants).astype(np.float32)).to(device)
        directions, _ = poses_to_bones(raw)
        final = bones_to_poses(directions, length_batch[:, None, :])
    if flip:
        raw, final = _unflip_average(raw), _unflip_average(final)
    else:
        raw, final = raw[0], final[0]
    return raw.float().cpu().numpy(), final.float().cpu().numpy()


def predict_poses(model: nn.Module, sequences: Sequence[Any], length_lookup: LengthLookup | None = None,
                  flip: bool = True, progress: bool = False, raw: bool = False) -> dict[Key, np.ndarray]:
    """Predicted poses {(subject, action, camera): (T, 17, 3) float32}, meters, camera frame, root-relative.

    model: a lifting model (either form) or a ``MixModel``. For a mix model, bone lengths come from
    ``length_lookup`` {(subject, action, camera): (16,) meters} when given, else from its length
    model. ``raw`` returns the temporal model's own poses instead (what a mix model rebuilds from).
    """
    whole = _whole_sequence_form(model)
    if isinstance(whole, MixModel) and length_lookup is None and whole.length_model is None:
        raise InputError("this fine-tuned model has no length model: pass length_lookup with the "
                         "predicted bone lengths of the videos")
    lengths = None
    if isinstance(whole, MixModel) and length_lookup is not None:
        lengths = lengths_of_sequences(sequences, length_lookup)
    predictions = {}
    for index, sequence in enumerate(_progress(sequences, len(sequences), "predicting", progress)):
        pair = predict_sequence(whole, sequence.keypoints_2d, None if lengths is None else lengths[index], flip)
        predictions[tuple(sequence.key)] = pair[0] if raw else pair[1]
    return predictions


def validation_mpjpe(model: nn.Module, sequences: Sequence[Any], length_lookup: LengthLookup | None = None
                     ) -> float:
    """MPJPE (meters) over all frames of ``sequences``, without test-time augmentation."""
    predictions = predict_poses(model, sequences, length_lookup, flip=False)
    errors = [np.linalg.norm(predictions[tuple(s.key)] - s.poses_root_relative, axis=-1).mean(axis=-1)
              for s in sequences]
    return float(np.concatenate(errors).mean())


# ----------------------------------------------------------------------------------------------
# Predicted bone lengths per video
# ----------------------------------------------------------------------------------------------

def read_lengths_list(path: str | os.PathLike) -> tuple[np.ndarray, list[Key] | None]:
    """(N, 16) float32 lengths from ``lengths_list.npz`` (key 'lengths'), one row per video, and the
    video of each row when the file names them (blapose writes 'subjects', 'actions', 'cameras');
    None means the rows follow ``upstream_list_keys``. Per-frame (causal) lists are refused."""
    from ..data.safe_pickle import load_npz

    content = load_npz(path)
    if "lengths" not in content:
        raise InputError(f"{path}: missing key 'lengths'; found {', '.join(content) or 'nothing'}")
    lengths = content["lengths"]
    if lengths.dtype == object or lengths.ndim != 2 or lengths.shape[1] != H36M.num_bones:
        shape = "per-frame arrays" if lengths.dtype == object else lengths.shape
        raise InputError(f"{path}: lengths hold {shape}, expected (videos, {H36M.num_bones}) with one "
                         "row per video")
    keys = None
    if all(name in content for name in ("subjects", "actions", "cameras")):
        keys = [(str(s), str(a), int(c)) for s, a, c in
                zip(content["subjects"], content["actions"], content["cameras"])]
    return lengths.astype(np.float32), keys


def upstream_list_keys(keypoints_2d: Mapping[str, Mapping[str, Sequence[Any]]],
                       subjects: Sequence[str]) -> list[Key]:
    """The video order of BLAPose's ``lengths_list.npz``: subjects as given, actions in the order of
    the 2D keypoint file, cameras 0..3 (length_model_inference.py)."""
    return [(subject, action, camera_index)
            for subject in subjects if subject in keypoints_2d
            for action, per_camera in keypoints_2d[subject].items()
            for camera_index in range(len(per_camera))]


def lookup_from_list(lengths: np.ndarray, keys: Sequence[Key]) -> dict[Key, np.ndarray]:
    """Pair the rows of a positional lengths list (N, 16) with video keys, checking the counts agree."""
    if len(lengths) != len(keys):
        raise InputError(f"the lengths list has {len(lengths)} rows but {len(keys)} videos were expected")
    return {tuple(key): row for key, row in zip(keys, lengths)}


def resolve_length_lookup(bone_length_dict: str | os.PathLike | None, bone_length_list: str | os.PathLike | None,
                          keypoints_2d_file: str | os.PathLike,
                          subject_orders: Sequence[Sequence[str]]) -> tuple[dict[Key, np.ndarray], str]:
    """Predicted lengths per video and a sentence saying where they came from.

    ``lengths_dict.npz`` is used when it exists, since it names every video; then a
    ``lengths_list.npz`` whose rows are named. Otherwise the rows of ``lengths_list.npz`` are matched to videos once, explicitly, by the upstream order
    (``upstream_list_keys``) for the first of ``subject_orders`` whose video count equals the
    number of rows (BLAPose slices [:600] for S1,S5,S6,S7,S8 and [600:] for S9,S11).
    """
    if bone_length_dict and Path(bone_length_dict).is_file():
        from ..lengths_io import load_lengths_dict

        return load_lengths_dict(bone_length_dict), f"bone lengths from {bone_length_dict}"
    if not bone_length_list or not Path(bone_length_list).is_file():
        raise InputError(f"no predicted bone lengths: neither {bone_length_dict} nor {bone_length_list} "
                         "exists; run `blapose infer_lengths` first")
    from ..data.h36m import load_keypoints_2d

    lengths, named_keys = read_lengths_list(bone_length_list)
    if named_keys is not None:
        return lookup_from_list(lengths, named_keys), f"bone lengths from {bone_length_list} (rows named)"
    keypoints_2d, _ = load_keypoints_2d(keypoints_2d_file)
    counts = []
    for subjects in subject_orders:
        keys = upstream_list_keys(keypoints_2d, subjects)
        counts.append(f"{len(keys)} for {','.join(subjects)}")
        if len(keys) == len(lengths):
            return lookup_from_list(lengths, keys), (
                f"bone lengths from {bone_length_list}, matched to videos by the upstream order: subjects "
                f"{','.join(subjects)}, actions as in {Path(keypoints_2d_file).name}, cameras 0..3")
    raise InputError(f"{bone_length_list} has {len(lengths)} rows, which fits no known video order "
                     f"({'; '.join(counts)}); use lengths_dict.npz instead")


# ----------------------------------------------------------------------------------------------
# Checkpoints
# ----------------------------------------------------------------------------------------------

def _state_dict_of(checkpoint: Mapping[str, Any], source: str) -> dict[str, torch.Tensor]:
    if "model_pos" not in checkpoint or not isinstance(checkpoint["model_pos"], Mapping):
        raise InputError(f"{source} has no 'model_pos' state dict; keys: {', '.join(map(str, checkpoint))}")
    return dict(checkpoint["model_pos"])


def lifting_model_from_checkpoint(checkpoint: Mapping[str, Any], filter_widths: Sequence[int],
                                  channels: int, source: str = "checkpoint") -> TemporalModel:
    """The whole-sequence lifting model of a VideoPose3D-style checkpoint ('model_pos'), eval mode."""
    from ..models.temporal import load_temporal_state

    model = TemporalModel(filter_widths, channels=channels, dropout=0.0)
    load_temporal_state(model, _state_dict_of(checkpoint, source), source)
    return model.eval()


def mix_model_from_checkpoint(checkpoint: Mapping[str, Any], filter_widths: Sequence[int], channels: int,
                              bidirectional: bool | None = None, source: str = "checkpoint") -> MixModel:
    """A ``MixModel`` from a BLAPose fine-tuned checkpoint ('model_pos' with 'direction_model.*' and,
    optionally, 'length_model.*' entries), eval mode."""
    from ..models.length import length_model_from_checkpoint
    from ..models.temporal import load_temporal_state

    state = _state_dict_of(checkpoint, source)
    parts: dict[str, dict[str, torch.Tensor]] = {"direction_model": {}, "length_model": {}}
    for name, value in state.items():
        prefix, _, rest = name.partition(".")
        if prefix not in parts:
            raise InputError(f"{source}: '{name}' is neither a direction_model nor a length_model entry; "
                             "is this a fine-tuned (-t mix) checkpoint?")
        parts[prefix][rest] = value
    direction = TemporalModel(filter_widths, channels=channels, dropout=0.0)
    load_temporal_state(direction, parts["direction_model"], f"{source} (direction_model)")
    length = None
    if parts["length_model"]:
        length = length_model_from_checkpoint({"model_pos": parts["length_model"]}, f"{source} (length_model)",
                                              bidirectional)
    return MixModel(direction, length).eval()


def checkpoint_dict(model: nn.Module, optimizer: torch.optim.Optimizer, epoch: int, learning_rate: float,
                    rng: np.random.Generator) -> dict:
    """A checkpoint in the upstream layout; 'random_state' is the numpy generator's state dict."""
    return {"epoch": epoch, "lr": learning_rate, "random_state": rng.bit_generator.state,
            "optimizer": optimizer.state_dict(), "model_pos": model.state_dict()}


# ----------------------------------------------------------------------------------------------
# Evaluation
# ----------------------------------------------------------------------------------------------

#: Reported metrics, computed in meters and reported in mm by ``blapose.report``.
EVALUATION_METRICS = ("mpjpe", "p_mpjpe", "n_mpjpe", "mpjve", "length_error", "direction_error")


def video_metrics(predicted: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """Frame means of each metric for one video's poses (T, J, 3) meters (direction error unitless)."""
    from .. import metrics

    return {
        "mpjpe": float(metrics.mpjpe_per_frame(predicted, target).mean()),
        "p_mpjpe": float(metrics.p_mpjpe_per_frame(predicted, target).mean()),
        "n_mpjpe": float(metrics.n_mpjpe_per_frame(predicted, target).mean()),
        "mpjve": float(metrics.mpjve(predicted, target)),
        "length_error": float(metrics.bone_length_error_per_frame(predicted, target).mean()),
        "direction_error": float(metrics.bone_direction_error_per_frame(predicted, target).mean()),
    }


def evaluation_report(targets: Mapping[Key, np.ndarray], after: Mapping[Key, np.ndarray],
                      before: Mapping[Key, np.ndarray] | None = None) -> dict[str, Any]:
    """Action-wise report in mm, with the schema of ``blapose adjust``'s report.

    targets, after, before: {(subject, action, camera): (T, 17, 3)} meters, root-relative. ``before``
    holds the lifting model's own poses and ``after`` the poses rebuilt with bone lengths; a plain
    lifting model has only ``before`` (pass its poses as ``before`` and ``after={}``) and its "after"
    entries are empty. Aggregation (frame-weighted within an action class, plain mean over classes)
    is ``blapose.report.action_wise``.
    """
    from ..data.h36m import action_name
    from ..report import action_wise

    keys = list(before if before is not None else after)
    if not keys:
        raise InputError("no videos to evaluate")
    actions = [action_name(key[1]) for key in keys]
    counts = [len(targets[key]) for key in keys]
    parts = {}
    for name, predictions in (("before", before), ("after", after)):
        if not predictions:
            parts[name] = ({}, {action: {} for action in dict.fromkeys(actions)})
            continue
        per_video = [video_metrics(predictions[key], targets[key]) for key in keys]
        values = {metric: np.array([v[metric] for v in per_video]) for metric in EVALUATION_METRICS}
        parts[name] = action_wise(actions, counts, values)
    return {"before": parts["before"][0], "after": parts["after"][0],
            "per_action": {action: {"before": parts["before"][1][action], "after": parts["after"][1][action]}
                           for action in parts["before"][1]},
            "frames": int(sum(counts))}


def evaluate_model(model: nn.Module, sequences: Sequence[Any], length_lookup: LengthLookup | None = None,
                   flip: bool = True, progress: bool = False) -> dict[str, Any]:
    """Evaluate a lifting or mix model on ``sequences`` -> ``evaluation_report`` (mm).

    Lifting model: its poses are "before" and "after" is empty. Mix model: "before" is its
    temporal model's own poses, "after" the poses rebuilt with the bone lengths (from
    ``length_lookup`` or, without one, its length model run on each whole sequence, as BLAPose
    evaluates). Flip test-time augmentation unless ``flip`` is False.
    """
    whole = _whole_sequence_form(model)
    is_mix = isinstance(whole, MixModel)
    lengths = lengths_of_sequences(sequences, length_lookup) if is_mix and length_lookup is not None else None
    if is_mix and lengths is None and whole.length_model is None:
        raise InputError("this fine-tuned model has no length model: pass the predicted bone lengths")
    raw, final, targets = {}, {}, {}
    for index, sequence in enumerate(_progress(sequences, len(sequences), "evaluating", progress)):
        key = tuple(sequence.key)
        raw[key], final[key] = predict_sequence(whole, sequence.keypoints_2d,
                                                None if lengths is None else lengths[index], flip)
        targets[key] = sequence.poses_root_relative
    return evaluation_report(targets, after=final if is_mix else {}, before=raw)


def headline(report: Mapping[str, Any]) -> dict[str, float]:
    """The final poses' action-wise averages in mm: "after" when there is one, else "before"."""
    return dict(report["after"] or report["before"])


def format_evaluation(report: Mapping[str, Any]) -> str:
    """A per-action table of the final poses' errors in mm, the average, and the raw poses' average."""
    names = ("mpjpe", "p_mpjpe", "n_mpjpe", "mpjve")
    titles = ("MPJPE (P1)", "P-MPJPE (P2)", "N-MPJPE", "MPJVE")
    final = "after" if report["after"] else "before"
    lines = [f"{'action':<14}" + "".join(f"{t:>14}" for t in titles)]
    for action, values in report["per_action"].items():
        lines.append(f"{action:<14}" + "".join(f"{values[final][n]:>14.1f}" for n in names))
    lines.append(f"{'Average':<14}" + "".join(f"{report[final][n]:>14.1f}" for n in names))
    lines.append(f"Protocol #1 (MPJPE) action-wise average: {report[final]['mpjpe']:.1f} mm")
    lines.append(f"Protocol #2 (P-MPJPE) action-wise average: {report[final]['p_mpjpe']:.1f} mm")
    lines.append(f"N-MPJPE action-wise average: {report[final]['n_mpjpe']:.1f} mm")
    lines.append(f"Velocity (MPJVE) action-wise average: {report[final]['mpjve']:.1f} mm")
    lines.append(f"Bone length error: {report[final]['length_error']:.1f} mm, bone direction error "
                 f"(x1000): {report[final]['direction_error']:.1f}")
    if report["after"]:
        lines.append(f"Temporal model's own poses (before the bone lengths): MPJPE "
                     f"{report['before']['mpjpe']:.1f} mm, P-MPJPE {report['before']['p_mpjpe']:.1f} mm")
    lines.append(f"{report['frames']} frames")
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------
# Command-line entry points (blapose train -t lift|mix, blapose evaluate, blapose predict)
# ----------------------------------------------------------------------------------------------

def _subjects(text: str) -> list[str]:
    subjects = [s.strip() for s in text.split(",") if s.strip()]
    if not subjects:
        raise InputError(f"no subjects in {text!r}; give them separated by commas, e.g. S9,S11")
    return subjects


def sequences_from_args(args: Any, subjects: Sequence[str]) -> list[Any]:
    """Sequences of ``subjects`` from --data-dir, -k/--keypoints and -d/--dataset, filtered by
    -a/--actions (name prefixes, as upstream) and thinned by --downsample."""
    from ..data.h36m import load_sequences

    if getattr(args, "subset", 1) != 1:
        raise InputError("--subset is not supported; use -a/--actions or --downsample to train on less")
    sequences = load_sequences(getattr(args, "data_dir", "data"), args.keypoints, list(subjects),
                               dataset=getattr(args, "dataset", "h36m"))
    actions = getattr(args, "actions", "*")
    if actions != "*":
        prefixes = tuple(a.strip() for a in actions.split(","))
        sequences = [s for s in sequences if s.action.startswith(prefixes)]
    step = getattr(args, "downsample", 1)
    if step > 1:
        sequences = [replace(s, poses_3d=s.poses_3d[::step], keypoints_2d=s.keypoints_2d[::step])
                     for s in sequences]
    if not sequences:
        raise InputError(f"no sequences of subjects {','.join(subjects)} match the actions {actions!r}")
    return sequences


def config_from_args(args: Any) -> PoseTrainConfig:
    """The training config of the upstream flags; an unset -lr takes the task's default."""
    from ..models.temporal import parse_architecture

    if getattr(args, "stride", 1) != 1:
        raise InputError("only -s 1 is supported: training predicts one frame per receptive-field window")
    if getattr(args, "in_chans", 2) != 2:
        raise InputError("only 2D keypoints (-ich 2) are supported")
    overrides = dict(filter_widths=parse_architecture(args.architecture), channels=args.channels,
                     dropout=args.dropout, epochs=args.epochs, batch_size=args.batch_size,
                     lr_decay=args.lr_decay, flip_augment=args.data_augmentation, seed=args.seed)
    if getattr(args, "learning_rate", None) is not None:
        overrides["learning_rate"] = args.learning_rate
    return (lift_config if args.task == "lift" else finetune_config)(**overrides)


def _load(name: str, args: Any) -> tuple[dict, str]:
    from ..models.checkpoint import load_checkpoint, resolve_checkpoint_path

    path = resolve_checkpoint_path(name, args.checkpoint)
    return load_checkpoint(path), str(path)


def model_from_args(args: Any) -> nn.Module:
    """The model the flags name, in eval mode on the CPU.

    -t lift: --direction_model (a VideoPose3D-style checkpoint). -t mix: --mix_model, or
    --length_model with --direction_model (BLAPose composes the two).
    """
    from ..models.length import length_model_from_checkpoint
    from ..models.temporal import parse_architecture

    widths = parse_architecture(args.architecture)
    if args.task == "lift":
        if not args.direction_model:
            raise InputError("-t lift needs the lifting model's checkpoint: --direction_model FILE")
        checkpoint, source = _load(args.direction_model, args)
        return lifting_model_from_checkpoint(checkpoint, widths, args.channels, source)
    if args.task != "mix":
        raise InputError(f"-t {args.task or '(none)'} has no pose model; use -t lift or -t mix")
    if args.mix_model:
        checkpoint, source = _load(args.mix_model, args)
        return mix_model_from_checkpoint(checkpoint, widths, args.channels, args.bidirectional, source)
    if not (args.length_model and args.direction_model):
        raise InputError("-t mix needs --mix_model, or both --length_model and --direction_model")
    length_checkpoint, length_source = _load(args.length_model, args)
    direction_checkpoint, direction_source = _load(args.direction_model, args)
    length_model = length_model_from_checkpoint(length_checkpoint, length_source, args.bidirectional)
    direction_model = lifting_model_from_checkpoint(direction_checkpoint, widths, args.channels, direction_source)
    return MixModel(direction_model, length_model).eval()


def length_lookup_from_args(args: Any) -> dict[Key, np.ndarray]:
    """Predicted lengths per video from -bld/--bone_length_dict, else -bll/--bone_length_list."""
    from ..data.h36m import keypoints_2d_path

    train, test = _subjects(args.subjects_train), _subjects(args.subjects_test)
    orders = list(dict.fromkeys(tuple(order) for order in (train + test, test, train)))
    path_2d = keypoints_2d_path(getattr(args, "data_dir", "data"), args.keypoints, getattr(args, "dataset", "h36m"))
    lookup, description = resolve_length_lookup(args.bone_length_dict, args.bone_length_list, path_2d, orders)
    print(f"INFO: {description}")
    return lookup


class EpochReporter:
    """Per epoch: print losses, write final.bin, epoch_best.bin (lowest validation MPJPE) and
    epoch_<N>.bin every ``frequency`` epochs into ``directory`` (upstream train.py's files)."""

    def __init__(self, directory: str | os.PathLike, frequency: int,
                 validate: Callable[[nn.Module], float] | None) -> None:
        self.directory = Path(directory)
        self.frequency = frequency
        self.validate = validate
        self.best = math.inf
        self.history: list[tuple[int, float, float | None]] = []

    def __call__(self, result: EpochResult, model: nn.Module, optimizer: torch.optim.Optimizer,
                 rng: np.random.Generator) -> None:
        from ..models.checkpoint import save_checkpoint

        valid = None
        if self.validate is not None:
            valid = self.validate(model)
            model.train()
        self.history.append((result.epoch, result.train_loss, valid))
        valid_text = "-" if valid is None else f"{valid * 1000:.2f}"
        print(f"[{result.epoch}] time {result.seconds / 60:.2f} min lr {result.learning_rate:.6f} "
              f"3d_train {result.train_loss * 1000:.2f} mm 3d_valid {valid_text} mm", flush=True)
        checkpoint = checkpoint_dict(model, optimizer, result.epoch, optimizer.param_groups[0]["lr"], rng)
        if valid is not None and valid < self.best:
            self.best = valid
            save_checkpoint(self.directory / "epoch_best.bin", checkpoint)
        if result.epoch % self.frequency == 0:
            save_checkpoint(self.directory / f"epoch_{result.epoch}.bin", checkpoint)
        save_checkpoint(self.directory / "final.bin", checkpoint)


def run_from_args(args: Any) -> int:
    """``blapose train -t lift|mix``: train or fine-tune from the upstream flags; checkpoints go to -c."""
    config = config_from_args(args)
    train = sequences_from_args(args, _subjects(args.subjects_train))
    test = [] if args.no_eval else sequences_from_args(args, _subjects(args.subjects_test))
    print(f"INFO: training on {sum(s.num_frames for s in train)} frames of {len(train)} videos"
          + ("" if args.no_eval else f", validating on {sum(s.num_frames for s in test)} frames"))
    resume = _load(args.resume, args)[0] if getattr(args, "resume", "") else None
    if args.task == "lift":
        model = None
        if resume is not None:
            model = lifting_model_from_checkpoint(resume, config.filter_widths, config.channels, args.resume)
        elif args.direction_model:
            model = model_from_args(args)
        reporter = EpochReporter(args.checkpoint, args.checkpoint_frequency,
                                 (lambda m: validation_mpjpe(m, test)) if test else None)
        print(f"INFO: receptive field {math.prod(config.filter_widths)} frames, device {config.torch_device}")
        train_lifting_model(train, config, model, reporter, resume)
    else:
        if resume is not None:
            model = mix_model_from_checkpoint(resume, config.filter_widths, config.channels, args.bidirectional,
                                              args.resume)
        else:
            model = model_from_args(args)
        lookup = length_lookup_from_args(args)
        test_lookup = lookup if test and all(tuple(s.key) in lookup for s in test) else None
        validate = None
        if test and (test_lookup is not None or model.length_model is not None):
            validate = lambda m: validation_mpjpe(m, test, test_lookup)  # noqa: E731
        reporter = EpochReporter(args.checkpoint, args.checkpoint_frequency, validate)
        print(f"INFO: receptive field {model.receptive_field()} frames, device {config.torch_device}")
        finetune(model, lookup, train, config, reporter, resume)
    if getattr(args, "export_training_curves", False):
        _plot_curves(reporter.history, Path(args.checkpoint) / "loss_3d.png")
    return 0


def _plot_curves(history: list[tuple[int, float, float | None]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..fileio import atomic_path

    epochs = [h[0] for h in history]
    figure, axes = plt.subplots()
    axes.plot(epochs, [h[1] * 1000 for h in history], "--", label="3d train")
    if all(h[2] is not None for h in history):
        axes.plot(epochs, [h[2] * 1000 for h in history], label="3d valid (eval)")
    axes.set_xlabel("Epoch")
    axes.set_ylabel("MPJPE (mm)")
    axes.legend()
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png")
    plt.close(figure)


def evaluate_from_args(args: Any) -> int:
    """``blapose evaluate`` / ``blapose train --evaluate``: action-wise errors on the test subjects."""
    from ..report import write_csv, write_json

    model = model_from_args(args)
    test = sequences_from_args(args, _subjects(args.subjects_test))
    lookup = None
    if isinstance(model, MixModel) and model.length_model is None:
        lookup = length_lookup_from_args(args)
    print(f"INFO: evaluating on {sum(s.num_frames for s in test)} frames of {len(test)} videos"
          f"{'' if args.test_time_augmentation else ' without test-time flipping'}")
    report = evaluate_model(model, test, lookup, flip=args.test_time_augmentation, progress=True)
    print(format_evaluation(report))
    if getattr(args, "json", None):
        write_json(args.json, report)
    if getattr(args, "csv", None):
        write_csv(args.csv, report)
    return 0


def predict_from_args(args: Any) -> int:
    """``blapose predict``: write the test subjects' predictions in the upstream adjustment format."""
    from ..data.predictions import write_predictions

    model = model_from_args(args)
    test = sequences_from_args(args, _subjects(args.subjects_test))
    lookup = None
    if isinstance(model, MixModel) and model.length_model is None:
        lookup = length_lookup_from_args(args)
    predictions = predict_poses(model, test, lookup, flip=args.test_time_augmentation, progress=True)
    output = args.output or str(Path("3D_prediction") / Path(args.mix_model or args.direction_model).stem)
    for path in write_predictions(output, predictions):
        print(f"wrote {path}")
    return 0
