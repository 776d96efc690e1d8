"""Training the bone-length model on re-posed, re-projected ground-truth motion (BLAPose, Sec. 3).

Layers: ``train_step`` (one batch) -> ``train_epoch`` (all chunks once) -> ``evaluate`` (length
errors on the test videos, ``evaluation``) -> ``fit``, which reads as its stages: ``setup`` (data,
batches, model) -> ``resume`` -> per epoch ``train_and_evaluate_epoch`` (with learning-rate decay)
and ``save_epoch`` (checkpoints). Settings live in ``config``, checkpoints and history in ``state``.

Units: meters inside; printed errors in millimetres.
"""

from __future__ import annotations

import math
import pickle
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ...errors import InputError
from ...fileio import atomic_path
from ...geometry.floor import standing_ankle_height
from ...models.checkpoint import load_checkpoint, resolve_checkpoint_path, save_checkpoint
from ...models.length import DEFAULT_ANKLE_HEIGHT, BoneLengthModel
from ...progress import Progress
from .. import flush_subnormal_floats
from ..device import FP32, Precision, backward_and_step, resolve_precision
from ..distributed import (
    DistributedContext,
    all_reduce_sum,
    current_context,
    loss_weight,
    random_states,
    restore_random_states,
    wrap_model,
)
from .batches import LengthBatchBuilder, LengthSampler, MotionBank, WildViews, make_length_sampler
from .config import (
    RECIPES,
    LengthAugmentation,
    LengthCommand,
    LengthTrainingConfig,
    command_from_args,
    config_from_args,
    load_length_table,
    load_training_sequences,
)
from .evaluation import LengthErrors, evaluate, evaluate_checkpoint, mean_length_error
from .state import TrainingHistory, TrainingState, checkpoint_dict, restore, save_curves

__all__ = ["RECIPES", "LengthTrainingConfig", "config_from_args", "LengthErrors", "evaluate", "evaluate_checkpoint",
           "mean_length_error", "TrainingHistory", "build_model", "length_loss",
           "train_step", "train_epoch", "fit", "FitResult", "TrainingSetup", "LengthCommand", "command_from_args",
           "run_command"]

#: The learning rate stops decaying below this (upstream train.py).
MIN_DECAYING_LR = 1e-6


def build_model(config: LengthTrainingConfig, reference_lengths: np.ndarray | None = None,
                ankle_height: float = DEFAULT_ANKLE_HEIGHT) -> BoneLengthModel:
    """A fresh model with the config's architecture; ``reference_lengths`` (16,) m for ``log_output``;
    ``ankle_height`` (m above the floor) for ``camera_inputs``."""
    model = config.model
    return BoneLengthModel(embed_dim=model.embed_dim, hidden_size=model.hidden_size,
                           num_layers=model.num_layers, dropout=model.dropout,
                           bidirectional=model.bidirectional, bone_inputs=model.bone_inputs,
                           temporal=model.temporal, proportions_only=model.proportions_only,
                           reference_lengths=reference_lengths if model.log_output else None,
                           camera_inputs=model.camera_inputs, ankle_height=ankle_height)


def length_loss(predicted: torch.Tensor, target: torch.Tensor, proportions_only: bool = False) -> torch.Tensor:
    """Mean absolute error (L1) over batch and bones, meters (upstream loss.py ``boneLoss``).

    ``proportions_only``: the target is first scaled to the prediction's size (geometric mean of
    the lengths), so only proportions count (for a model whose size is fixed).
    """
    if proportions_only:
        target = target * torch.exp(torch.log(predicted).mean(-1, keepdim=True)
                                    - torch.log(target).mean(-1, keepdim=True)).detach()
    return torch.mean(torch.abs(predicted - target))


def _camera_inputs(model: nn.Module) -> bool:
    """Whether the (possibly DDP-wrapped) length model reads each example's camera."""
    return bool(getattr(getattr(model, "module", model), "camera_inputs", False))


def _proportions_only(model: nn.Module) -> bool:
    """Whether the (possibly DDP-wrapped) length model predicts proportions only (keeps its reference's size)."""
    return not getattr(model, "module", model).predicts_size


def train_step(model: nn.Module, optimizer: torch.optim.Optimizer, keypoints: torch.Tensor,
               target: torch.Tensor, precision: Precision = FP32, scaler: torch.amp.GradScaler | None = None,
               weight: float = 1.0, calibration: torch.Tensor | None = None) -> torch.Tensor:
    """One optimiser step on keypoints (B, L, J, 2) and target lengths (B, 16) meters (with the
    cameras' calibration vectors (B, 13) for a camera-aware model).

    The forward pass runs under ``precision``'s autocast; the gradient is that of ``weight`` x
    loss (``distributed.loss_weight``), scaled by ``scaler`` when given (fp16). Returns the loss
    (m) before the step as a detached 0-d float32 tensor on the device, so the step does not wait
    for the device.
    """
    model.train()
    optimizer.zero_grad(set_to_none=True)
    with precision.autocast():
        predicted = model(keypoints) if calibration is None else model(keypoints, calibration)
        loss = length_loss(predicted.float(), target, _proportions_only(model))
    backward_and_step(loss, optimizer, weight, scaler)
    return loss.detach()


#: Batches between two readings of the loss for the progress display (each waits for the device).
LOSS_DISPLAY_INTERVAL = 50


def train_epoch(model: nn.Module, optimizer: torch.optim.Optimizer, builder: LengthBatchBuilder,
                rng: np.random.Generator, description: str = "", progress: bool = True,
                context: DistributedContext | None = None, precision: Precision = FP32,
                scaler: torch.amp.GradScaler | None = None) -> float:
    """One pass over all training chunks; returns the example-weighted mean loss over all ranks, meters.

    With a ``context`` of several ranks, each trains on its block of every global batch
    (``LengthBatchBuilder.epoch``) and the loss is reduced over ranks at the end of the epoch.
    """
    context = context or DistributedContext(device=next(model.parameters()).device)
    sums = torch.zeros(2, dtype=torch.float64, device=context.device)  # loss x examples, examples
    with Progress(builder.num_batches, description, unit="batch", enabled=progress and context.is_main) as bar:
        for step, batch in enumerate(builder.epoch(rng, context)):
            size = len(batch.lengths)
            global_size = min(builder.batch_size, len(builder.index) - step * builder.batch_size)
            loss = train_step(model, optimizer, batch.keypoints, batch.lengths, precision, scaler,
                              loss_weight(size, global_size, context),
                              batch.calibration if _camera_inputs(model) else None)
            sums[0] += loss * size
            sums[1] += size
            if step % LOSS_DISPLAY_INTERVAL == 0:
                bar.update(1, loss_mm=float(loss) * 1000)
            else:
                bar.update(1)
    total, count = all_reduce_sum(sums, context).tolist()
    return total / max(count, 1)


@dataclass(frozen=True)
class FitResult:
    """What ``fit`` produced: the trained model (eval mode), history (meters) and written checkpoints."""

    model: BoneLengthModel
    history: TrainingHistory
    final_checkpoint: Path
    best_checkpoint: Path | None


@dataclass
class TrainingSetup:
    """What ``fit`` trains with (``setup``): this process's place in the process group, its precision,
    the numpy generator shared by the ranks, the length sampler and batch builder, the model (not
    wrapped), its optimizer and loss scaler, and the videos evaluated each epoch."""

    context: DistributedContext
    precision: Precision
    rng: np.random.Generator
    sampler: LengthSampler
    builder: LengthBatchBuilder
    model: BoneLengthModel
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    evaluation_sequences: list


def fit(config: LengthTrainingConfig) -> FitResult:
    """Train (or continue training) a bone-length model as ``config`` says; writes checkpoints.

    Seeds torch's global generator (weights, dropout) and a numpy generator (chunk order, lengths,
    root offsets) from ``config.schedule.seed``; both states go into every checkpoint, so a run
    resumed from ``final.bin`` continues exactly as the uninterrupted run would.

    In a torchrun process group every rank calls ``fit`` alike: the model trains wrapped in DDP
    on its block of each global batch of ``config.schedule.batch_size`` chunks (torch seeded with
    seed + rank, the numpy draws shared), and only rank 0 evaluates, prints and writes checkpoints,
    which carry every rank's random states ('rank_random_states').
    """
    flush_subnormal_floats()
    run = setup(config)
    state = resume(run, config) if config.run.resume else TrainingState(lr=config.schedule.learning_rate)
    trained = wrap_model(run.model, run.context)
    checkpoint_dir = Path(config.run.checkpoint_dir)
    while state.epoch < config.schedule.epochs:
        print(train_and_evaluate_epoch(run, trained, state, config))
        save_epoch(run, state, config, checkpoint_dir)
    final_path, best_path = checkpoint_dir / "final.bin", checkpoint_dir / "epoch_best.bin"
    if run.context.is_main and not final_path.exists():  # nothing left to train: leave the resumed state behind
        save_checkpoint(final_path, checkpoint_dict(run.model, run.optimizer, state, run.rng, config.recipe))
    return FitResult(model=run.model.eval(), history=state.history, final_checkpoint=final_path,
                     best_checkpoint=best_path if best_path.exists() else None)


def setup(config: LengthTrainingConfig) -> TrainingSetup:
    """Seed the generators, read the videos and the length table, and build the batches, the model
    (on the device) and its optimizer; prints what will train."""
    context = current_context(config.run.device)
    device = context.device
    precision = resolve_precision(config.run.amp, device)
    seed = config.schedule.seed
    torch.manual_seed(seed + context.rank)
    rng = np.random.default_rng(seed)
    data = config.data
    train_sequences = load_training_sequences(config, training_subjects(config))
    evaluation_subjects = data.subjects_valid or (data.subjects_test if config.run.evaluate_each_epoch else ())
    evaluation_sequences = load_training_sequences(config, evaluation_subjects) if evaluation_subjects else []
    augmentation = config.augmentation
    sampler = make_length_sampler(augmentation.length_aug_type, load_length_table(augmentation.bone_length_aug),
                                  data.subjects_train, data.subjects_test, augmentation.bone_length_aug)
    builder = LengthBatchBuilder(_motion_bank(train_sequences, augmentation, device), sampler,
                                 config.schedule.batch_size, config.schedule.chunk_len, config.schedule.segment_shift,
                                 flip=augmentation.flip_augmentation, root_offset_std=augmentation.root_offset_std,
                                 floor=augmentation.floor_augmentation, keypoint_noise=augmentation.keypoint_noise,
                                 wild=views(config))
    ankle_height = standing_ankle_height(s.camera.camera_to_world(s.poses_3d) for s in train_sequences)
    model = build_model(config, sampler.table.mean(axis=0), ankle_height).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.schedule.learning_rate, amsgrad=True)
    print(f"INFO: training on {len(builder.index)} chunks of {config.schedule.chunk_len} frames "
          f"({builder.num_batches} batches per epoch) on {device}"
          f"{f' x {context.world_size} processes' if context.is_distributed else ''}, {precision.name}; "
          f"{sum(p.numel() for p in model.parameters())} parameters")
    return TrainingSetup(context, precision, rng, sampler, builder, model, optimizer, precision.grad_scaler(),
                         evaluation_sequences)


def _motion_bank(train_sequences: list, augmentation: LengthAugmentation, device: torch.device) -> MotionBank:
    """The training motion: the videos' camera-frame poses, or their world-frame motion for random cameras."""
    if not (augmentation.wild_views or augmentation.studio_views):
        return MotionBank.from_sequences(train_sequences, device)
    from ..wild import world_motions

    motions = world_motions(train_sequences)
    subjects = list(dict.fromkeys((s.subject, s.action) for s in train_sequences))
    return MotionBank.from_world_motions(motions, [subject for subject, _ in subjects], device)


def resume(run: TrainingSetup, config: LengthTrainingConfig) -> TrainingState:
    """Restore model, optimizer, loss scaler and every generator from the checkpoint ``config.run.resume``."""
    path = resolve_checkpoint_path(config.run.resume, config.run.checkpoint_dir)
    checkpoint = load_checkpoint(path)
    state = restore(checkpoint, str(path), run.model, run.optimizer, run.rng)
    restore_random_states(checkpoint.get("rank_random_states"), run.rng, run.context)
    if run.scaler.is_enabled() and isinstance(checkpoint.get("scaler"), dict):
        run.scaler.load_state_dict(checkpoint["scaler"])
    print(f"INFO: resuming from {path} after epoch {state.epoch}")
    return state


def train_and_evaluate_epoch(run: TrainingSetup, trained: nn.Module, state: TrainingState,
                             config: LengthTrainingConfig) -> str:
    """One epoch: train, evaluate (rank 0), record both in ``state.history``, count the epoch and
    decay the learning rate; returns the epoch's line of losses (mm)."""
    started = time.time()
    history = state.history
    history.train.append(train_epoch(trained, run.optimizer, run.builder, run.rng, f"epoch {state.epoch + 1}",
                                     config.run.progress, run.context, run.precision, run.scaler))
    line = f"[{state.epoch + 1}] time {(time.time() - started) / 60:.2f} min lr {state.lr:.6f} " \
           f"length_train {history.train[-1] * 1000:.2f} mm"
    if run.evaluation_sequences and run.context.is_main:
        run.model.eval()
        errors = evaluate(run.model, run.evaluation_sequences, run.sampler, seed=config.schedule.seed + 1,
                          progress=config.run.progress)
        history.valid.append(errors.detected)
        history.valid_aug.append(errors.augmented)
        line += f" length_valid {errors.detected * 1000:.2f} mm length_valid_aug {errors.augmented * 1000:.2f} mm"
        if config.data.subjects_valid:
            line += f" ({','.join(config.data.subjects_valid)})"
    state.epoch += 1
    optimizer = run.optimizer
    if optimizer.param_groups[0]["lr"] >= MIN_DECAYING_LR:
        for group in optimizer.param_groups:
            group["lr"] *= config.schedule.lr_decay
    state.lr = optimizer.param_groups[0]["lr"]
    return line


def save_epoch(run: TrainingSetup, state: TrainingState, config: LengthTrainingConfig, checkpoint_dir: Path) -> None:
    """After an epoch: gather every rank's random states (all ranks take part), then on rank 0 write
    final.bin, epoch_best.bin when the validation error improved, epoch_<N>.bin every
    ``checkpoint_frequency`` epochs, result.pkl (the history) and, when asked, the curves."""
    resume_state = {"rank_random_states": random_states(run.rng, run.context)}  # every rank takes part
    if run.scaler.is_enabled():
        resume_state["scaler"] = run.scaler.state_dict()
    if not run.context.is_main:
        return
    history = state.history
    improved = bool(run.evaluation_sequences) and history.valid[-1] < state.best
    if improved:
        state.best = history.valid[-1]
    content = {**checkpoint_dict(run.model, run.optimizer, state, run.rng, config.recipe), **resume_state}
    if improved:
        best_path = checkpoint_dir / "epoch_best.bin"
        save_checkpoint(best_path, content)
        print(f"Saving checkpoint to {best_path}")
    if state.epoch % config.run.checkpoint_frequency == 0:
        save_checkpoint(checkpoint_dir / f"epoch_{state.epoch}.bin", content)
    save_checkpoint(checkpoint_dir / "final.bin", content)
    with atomic_path(checkpoint_dir / "result.pkl") as temporary:
        temporary.write_bytes(pickle.dumps(history.as_dict()))
    if config.run.export_training_curves:
        save_curves(history, checkpoint_dir / "loss_length.png")


def training_subjects(config: LengthTrainingConfig) -> tuple[str, ...]:
    """The training subjects without the validation subjects (which are held out of training)."""
    subjects = tuple(s for s in config.data.subjects_train if s not in config.data.subjects_valid)
    if not subjects:
        raise InputError(f"no training subject is left once the validation subjects "
                         f"({', '.join(config.data.subjects_valid)}) are held out")
    overlap = [s for s in config.data.subjects_valid if s in config.data.subjects_test]
    if overlap:
        raise InputError(f"validation subject(s) {', '.join(overlap)} are also test subjects")
    return subjects


def views(config: LengthTrainingConfig) -> WildViews | None:
    """The random cameras the config asks for: phone-like with MediaPipe-like 2D errors (``wild_views``),
    around the dataset's without those errors (``studio_views``), or none (the dataset's own cameras)."""
    from ..wild import NO_NOISE, STUDIO_CAMERAS

    if config.augmentation.wild_views:
        return WildViews()
    return WildViews(cameras=STUDIO_CAMERAS, noise=NO_NOISE) if config.augmentation.studio_views else None


def run_command(command: LengthCommand) -> int:
    """``blapose train -t length``: train, or with ``command.evaluate`` report a saved model's errors."""
    config = command.config
    if command.evaluate:
        errors = evaluate_checkpoint(config, command.evaluate)
        print(f"Bone length error on {', '.join(config.data.subjects_test)}: detected 2D "
              f"{errors.detected * 1000:.2f} mm, augmented {errors.augmented * 1000:.2f} mm")
        return 0
    result = fit(config)
    if result.history.valid:
        best = min(result.history.valid)
        valid = config.data.subjects_valid
        which = f"validation subjects ({','.join(valid)})" if valid else "test subjects"
        print(f"Best length error on the {which}: {best * 1000:.2f} mm "
              f"(epoch {result.history.valid.index(best) + 1}); final checkpoint {result.final_checkpoint}")
    if config.recipe != "upstream" and not config.augmentation.wild_views:
        print(final_test_line(result.model, config))
    return 0 if all(math.isfinite(v) for v in result.history.train) else 1


def final_test_line(model: BoneLengthModel, config: LengthTrainingConfig) -> str:
    """The final model's length error on the test subjects' detected 2D, next to the training mean's
    (mm, with the scale and proportion split of ``blapose.lengths.scoring``): measured once, after training."""
    from ...lengths.reference import training_mean_lengths, true_lengths
    from ...lengths.scoring import length_errors
    from ...models.length import predict_lengths

    test = load_training_sequences(config, config.data.subjects_test)
    truth = true_lengths(test, np.float32)
    learned = length_errors(predict_lengths(model, test), truth)
    mean = training_mean_lengths(load_training_sequences(config, training_subjects(config)))
    baseline = length_errors({key: mean for key in truth}, truth)
    return (f"Length error of the final model on the test subjects ({','.join(config.data.subjects_test)}), "
            f"measured once: {learned.mean * 1000:.2f} mm (scale {learned.scale * 1000:.2f}, "
            f"proportion {learned.proportion * 1000:.2f}); training subjects' mean {baseline.mean * 1000:.2f} mm "
            f"({learned.mean / baseline.mean:.2f}x)")
