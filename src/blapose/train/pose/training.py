"""Training and fine-tuning of the 2D -> 3D lifting model, and its checkpoints.

Glossary: S sequences, T frames, J joints (17), P bones (16), R receptive field.
Poses are meters, camera frame, root-relative; keypoints are normalised screen coordinates.

- ``train_lifting_model``: supervised VideoPose3D training (run.py): MPJPE loss, flip
  augmentation, Adam with amsgrad, learning rate x0.95 and batch-norm momentum 0.1 -> 0.001 over
  the epochs.
- ``finetune``: BLAPose fine-tuning (train.py -t mix, main.py ``train_mix``): the pose is rebuilt
  from the lifting model's bone directions and the video's fixed predicted bone lengths; the loss
  is the MPJPE of the rebuilt pose plus the mean distance between predicted and true unit bone
  directions, both with weight 1.
- ``checkpoint_dict``, ``lifting_model_from_checkpoint``, ``mix_model_from_checkpoint``:
  checkpoints in the upstream layout ('model_pos', 'optimizer', 'epoch', 'lr', 'random_state').

Prediction and evaluation live in ``blapose.evaluation`` (``predict``, ``protocol``); the command-line
mapping in ``blapose.train.pose.inputs``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch
from torch import nn

from ...bones import poses_to_bones
from ...errors import InputError
from ...lengths.io import LengthLookup
from ...models.mix import MixModel
from ...models.temporal import SingleFrameTemporalModel, TemporalModel, convert_form
from ...progress import progress
from ...skeleton import H36M
from .. import flush_subnormal_floats
from ..chunks import ChunkBatch, ChunkedBatches
from ..device import FP32, Precision, backward_and_step, resolve_device, resolve_precision, to_device
from ..distributed import (
    DistributedContext,
    all_reduce_sum,
    current_context,
    loss_weight,
    random_states,
    restore_random_states,
    shard,
    wrap_model,
)

# ----------------------------------------------------------------------------------------------
# Configuration
# ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PoseTrainConfig:
    """Settings of supervised lifting training and of fine-tuning (``lift_config``, ``finetune_config``).

    Learning rate decays by ``lr_decay`` after every epoch while it is >= ``min_learning_rate``;
    batch-norm momentum goes from ``initial_bn_momentum`` to ``final_bn_momentum`` exponentially
    over ``epochs`` (VideoPose3D run.py). ``batch_size`` counts frames: the global batch, split over
    the processes when several train (``blapose.train.distributed``). ``device``: see
    ``resolve_device``; ``amp``: None/'off', 'bf16' or 'fp16' (``resolve_precision``).
    ``mocap_share``: the fraction of the examples that real motion passed to ``train_lifting_model``
    makes with ``augment="wild"`` (``blapose.train.wild.lift_training_motions``).
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
    augment: str = "none"  # "wild": random virtual cameras and detector noise (blapose.train.wild)
    mocap_share: float = 0.3
    seed: int = 5731
    progress: bool = True
    device: str | None = None
    amp: str | None = None

    @property
    def torch_device(self) -> torch.device:
        """The configured device (``resolve_device``); by default CUDA when available, else the CPU."""
        return resolve_device(self.device)

    def __post_init__(self) -> None:
        if self.epochs < 0 or self.batch_size < 1 or self.channels < 1:
            raise InputError(f"epochs, batch size and channels must be positive, got {self.epochs}, "
                             f"{self.batch_size}, {self.channels}")
        if self.augment not in ("none", "wild"):
            raise InputError(f"unknown augmentation {self.augment!r}; choose none or wild")
        if not 0 <= self.mocap_share < 1:
            raise InputError(f"the motion-capture share must lie in [0, 1), got {self.mocap_share}")
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
    """What one epoch produced: its mean training loss (meters) and examples, over all ranks, and the
    state after it.

    resume_state: what a checkpoint needs beyond model and optimizer to resume exactly
    ('rank_random_states', every rank's generators; 'scaler', the fp16 loss scaler), for ``checkpoint_dict``.
    """

    epoch: int
    train_loss: float
    learning_rate: float
    seconds: float
    examples: int = 0
    extra: dict = field(default_factory=dict)
    resume_state: dict = field(default_factory=dict)


LossFunction = Callable[[nn.Module, ChunkBatch, PoseTrainConfig], torch.Tensor]
EpochCallback = Callable[[EpochResult, nn.Module, torch.optim.Optimizer, np.random.Generator], None]


def train_step(model: nn.Module, batch: ChunkBatch, optimizer: torch.optim.Optimizer,
               loss_function: LossFunction, config: PoseTrainConfig, precision: Precision = FP32,
               scaler: torch.amp.GradScaler | None = None, weight: float = 1.0) -> torch.Tensor:
    """One optimiser step on ``batch`` (on the model's device); returns the loss before the step.

    The forward pass and loss run under ``precision``'s autocast; the gradient is that of
    ``weight`` x loss (``distributed.loss_weight``), scaled by ``scaler`` when given (fp16). The
    returned loss is a detached 0-d float32 tensor on the device: reading it is the caller's choice,
    so a step does not wait for the device.
    """
    optimizer.zero_grad(set_to_none=True)
    with precision.autocast():
        loss = loss_function(model, batch, config).float()
    backward_and_step(loss, optimizer, weight, scaler)
    return loss.detach()


def epoch_batches(batches: ChunkedBatches, rng: np.random.Generator, context: DistributedContext
                  ) -> Iterator[tuple[ChunkBatch, int]]:
    """This rank's part of each global batch of an epoch, with the global batch's size.

    Every rank draws the same order from ``rng``; a final global batch with fewer examples than
    ranks is left out on every rank (so the ranks stay in step).
    """
    order = to_device(rng.permutation(batches.num_examples), batches.device)
    for first in range(0, batches.num_examples, batches.batch_size):
        chosen = order[first:first + batches.batch_size]
        if len(chosen) < context.world_size:
            return
        yield batches.batch(shard(chosen, context)), len(chosen)


def fit(model: nn.Module, batches: ChunkedBatches, loss_function: LossFunction, config: PoseTrainConfig,
        rng: np.random.Generator, on_epoch_end: EpochCallback | None = None,
        resume: Mapping[str, Any] | None = None) -> list[EpochResult]:
    """Train ``model`` (single-frame form, on the batches' device) until ``config.epochs``.

    In a torchrun process group every rank calls ``fit`` alike: the model trains wrapped in DDP on
    its shard of each global batch (``blapose.train.distributed``), the loss is reduced over ranks
    once per epoch, and ``on_epoch_end`` (printing, checkpoints) runs on rank 0 only, given the
    unwrapped model. ``rng`` draws the shared example order and must be seeded alike on every rank.
    ``resume``: a checkpoint dict written during an earlier run ('epoch', 'lr', 'optimizer',
    'random_state', and blapose's 'rank_random_states', 'scaler'); training continues after its
    epoch with its optimizer, learning rate and every rank's random state. Returns one result per
    epoch run.
    """
    flush_subnormal_floats()
    context = current_context(batches.device)
    precision = resolve_precision(config.amp, context.device)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(trainable, lr=config.learning_rate, amsgrad=True)
    scaler = precision.grad_scaler()
    generators = batch_generators(batches)
    first_epoch = 0 if resume is None else _resume(resume, optimizer, scaler, rng, context, generators)
    model.set_bn_momentum(bn_momentum(config, first_epoch))
    trained = wrap_model(model, context)
    results = []
    for epoch in range(first_epoch, config.epochs):
        start = time.perf_counter()
        trained.train()
        sums = torch.zeros(2, dtype=torch.float64, device=context.device)  # loss x examples, examples
        for batch, global_size in progress(epoch_batches(batches, rng, context), batches.num_batches,
                                           f"epoch {epoch + 1}", unit="batch",
                                           enabled=config.progress and context.is_main):
            size = len(batch.poses_3d)
            loss = train_step(trained, batch, optimizer, loss_function, config, precision, scaler,
                              loss_weight(size, global_size, context))
            sums[0] += loss * size
            sums[1] += size
        totals = all_reduce_sum(sums, context).tolist()  # the epoch's one wait for the device
        learning_rate = optimizer.param_groups[0]["lr"]
        if learning_rate >= config.min_learning_rate:
            for group in optimizer.param_groups:
                group["lr"] *= config.lr_decay
        model.set_bn_momentum(bn_momentum(config, epoch + 1))
        resume_state = {"rank_random_states": random_states(rng, context, generators)}
        if scaler.is_enabled():
            resume_state["scaler"] = scaler.state_dict()
        result = EpochResult(epoch=epoch + 1, train_loss=totals[0] / max(totals[1], 1),
                             learning_rate=learning_rate, seconds=time.perf_counter() - start,
                             examples=int(totals[1]), resume_state=resume_state)
        if on_epoch_end is not None and context.is_main:
            on_epoch_end(result, model, optimizer, rng)
        results.append(result)
    return results


def batch_generators(batches: Any) -> dict[str, torch.Generator]:
    """The torch generators a batch source draws from, by name, for checkpoints: ``WildChunkBatches``'
    cameras, noise and flips ('batches'); none for ``ChunkedBatches``."""
    generator = getattr(batches, "generator", None)
    return {"batches": generator} if isinstance(generator, torch.Generator) else {}


def _resume(checkpoint: Mapping[str, Any], optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler,
            rng: np.random.Generator, context: DistributedContext,
            generators: Mapping[str, torch.Generator]) -> int:
    """Restore optimizer, learning rate, loss scaler and this rank's random states (``generators``
    included) from ``checkpoint``; returns its epoch. A checkpoint without them (upstream's, one of
    another number of ranks or one without the batch source's generators) restores the shared numpy
    order only, and says so."""
    if checkpoint.get("optimizer") is not None:
        try:
            optimizer.load_state_dict(checkpoint["optimizer"])
        except (ValueError, KeyError) as error:
            raise InputError(f"the checkpoint's optimizer state does not fit this model ({error})") from None
    elif context.is_main:
        print("WARNING: this checkpoint has no optimizer state; the optimizer starts afresh")
    if "lr" in checkpoint:
        for group in optimizer.param_groups:
            group["lr"] = float(checkpoint["lr"])
    if scaler.is_enabled() and isinstance(checkpoint.get("scaler"), Mapping):
        scaler.load_state_dict(dict(checkpoint["scaler"]))
    if not restore_random_states(checkpoint.get("rank_random_states"), rng, context, generators):
        state = checkpoint.get("random_state")
        if isinstance(state, dict) and "bit_generator" in state:
            rng.bit_generator.state = state
        if context.is_main:
            print(f"WARNING: this checkpoint has no random state for each of {context.world_size} process(es); "
                  "the example order continues, " + ("dropout and the augmentation draws restart" if generators
                                                     else "dropout restarts") + " from the seed")
    return int(checkpoint.get("epoch", 0))


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


def _with_dropout(model: TemporalModel, dropout: float) -> TemporalModel:
    """``model`` training with the configured dropout probability, whatever the model it came from had
    (a checkpoint loads without dropout): as upstream, which builds the trained model from -drop."""
    model.drop.p = dropout
    return model


def _training_arrays(sequences: Sequence[Any]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    if len(sequences) == 0:
        raise InputError("no training sequences (check the subjects and the action filter)")
    return [s.keypoints_2d for s in sequences], [s.poses_root_relative for s in sequences]


def train_lifting_model(train_sequences: Sequence[Any], config: PoseTrainConfig,
                        model: nn.Module | None = None, on_epoch_end: EpochCallback | None = None,
                        resume: Mapping[str, Any] | None = None,
                        real_motions: Sequence[np.ndarray] = ()) -> TemporalModel:
    """Train a lifting model on ``train_sequences`` (``blapose.data.h36m.Sequence``) with MPJPE.

    Starts from ``model`` (either form, trained with ``config.dropout``) when given, else from a
    fresh model of the configured architecture drawn from ``config.seed``. ``resume``: see ``fit``.
    ``real_motions``: world-frame motions (T, 17, 3) meters, z up (``blapose.data.mocap.load_clips``),
    trained on beside the sequences as ``config.mocap_share`` of the examples; only with
    ``augment="wild"``, which needs no 2D. Returns the whole-sequence form, in eval mode, on the
    configured device.
    """
    if len(real_motions) and config.augment != "wild":
        raise InputError("motion capture needs --augment wild: the clips have no cameras or 2D keypoints")
    keypoints, poses = _training_arrays(train_sequences)
    device = config.torch_device
    # Initial weights and dropout drawn from the seed (+ rank: DDP then copies rank 0's weights).
    with _forked_torch_rng(config.seed + current_context(device).rank):
        single_frame = build_temporal_model(config, single_frame=True) if model is None \
            else _with_dropout(convert_form(model, single_frame=True), config.dropout)
        single_frame.to(device)
        if config.augment == "wild":
            from ..wild import WildChunkBatches, lift_training_motions

            draws = torch.Generator(device=device)  # each rank its own cameras for its block of a batch
            draws.manual_seed(config.seed + current_context(device).rank)
            motions = lift_training_motions(train_sequences, real_motions, config.mocap_share)
            batches = WildChunkBatches(motions, single_frame.receptive_field(),
                                       config.batch_size, flip=config.flip_augment, device=device, generator=draws)
        else:
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
    kept and stays fixed; the directions train with ``config.dropout``). length_lookup: {(subject,
    action, camera): (16,) meters} covering every training sequence. Returns a ``MixModel`` whose
    direction model is in the whole-sequence form, in eval mode; predict with ``predict_poses(model,
    sequences, length_lookup=...)`` or, when it has a length model, without a lookup.
    """
    length_model = model.length_model if isinstance(model, MixModel) else None
    directions = model.direction_model if isinstance(model, MixModel) else model
    device = config.torch_device
    mix = MixModel(_with_dropout(convert_form(directions, single_frame=True), config.dropout), length_model).to(device)
    keypoints, poses = _training_arrays(train_sequences)
    lengths = lengths_of_sequences(train_sequences, length_lookup)
    batches = ChunkedBatches(keypoints, poses, mix.receptive_field(), config.batch_size,
                             flip=config.flip_augment, lengths=lengths, device=device)
    with _forked_torch_rng(config.seed + current_context(device).rank):
        fit(mix, batches, finetune_loss, config, np.random.default_rng(config.seed), on_epoch_end, resume)
    return MixModel(convert_form(mix.direction_model, single_frame=False), length_model).eval()


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
    from ...models.temporal import load_temporal_state

    model = TemporalModel(filter_widths, channels=channels, dropout=0.0)
    load_temporal_state(model, _state_dict_of(checkpoint, source), source)
    return model.eval()


def mix_model_from_checkpoint(checkpoint: Mapping[str, Any], filter_widths: Sequence[int], channels: int,
                              bidirectional: bool | None = None, source: str = "checkpoint") -> MixModel:
    """A ``MixModel`` from a BLAPose fine-tuned checkpoint ('model_pos' with 'direction_model.*' and,
    optionally, 'length_model.*' entries), eval mode."""
    from ...models.length import length_model_from_checkpoint
    from ...models.temporal import load_temporal_state

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
                    rng: np.random.Generator, resume_state: Mapping[str, Any] | None = None) -> dict:
    """A checkpoint in the upstream layout; 'random_state' is the numpy generator's state dict.

    resume_state: ``EpochResult.resume_state`` (every rank's random states, the fp16 loss scaler),
    added so that ``fit`` resumes exactly.
    """
    content = {"epoch": epoch, "lr": learning_rate, "random_state": rng.bit_generator.state,
               "optimizer": optimizer.state_dict(), "model_pos": model.state_dict()}
    content.update(resume_state or {})
    return content


__all__ = ["PoseTrainConfig", "lift_config", "finetune_config", "bn_momentum", "build_temporal_model", "mean_distance",
           "lifting_loss", "finetune_loss", "EpochResult", "train_step", "epoch_batches", "fit", "batch_generators",
           "train_lifting_model", "lengths_of_sequences", "finetune", "lifting_model_from_checkpoint",
           "mix_model_from_checkpoint", "checkpoint_dict"]
