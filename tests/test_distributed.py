"""Multi-process training (blapose.train.distributed, pose.fit under DDP) on the CPU with gloo.

Two processes are started once (torch.multiprocessing, one torch thread each) and train a tiny
lifting model on the built-in data several ways; the single-process runs happen in this process.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from blapose.data.h36m import load_sequences
from blapose.errors import InputError
from blapose.models.checkpoint import load_checkpoint, save_checkpoint
from blapose.train.chunks import ChunkedBatches
from blapose.train.device import resolve_device, resolve_precision
from blapose.train.distributed import DistributedContext, distributed_session, loss_weight, shard
from blapose.train.pose import checkpoint_dict, fit, lift_config, lifting_loss
from blapose.train.wild import WildChunkBatches, world_motions

SEED = 11
BATCH = 512
RECEPTIVE_FIELD = 3


class TinyLifter(nn.Module):
    """A linear map from a 3-frame window of 2D keypoints to one 3D pose, with dropout; no batch norm."""

    def __init__(self, dropout: float) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.linear = nn.Linear(RECEPTIVE_FIELD * 17 * 2, 17 * 3)

    def receptive_field(self) -> int:
        return RECEPTIVE_FIELD

    def set_bn_momentum(self, momentum: float) -> None:
        pass

    def forward(self, keypoints_2d: torch.Tensor) -> torch.Tensor:
        flat = self.dropout(keypoints_2d.reshape(len(keypoints_2d), -1))
        return self.linear(flat).reshape(-1, 1, 17, 3)


def _batches(data_dir: Path) -> ChunkedBatches:
    sequences = load_sequences(data_dir, "gt", subjects=["S1"])
    return ChunkedBatches([s.keypoints_2d for s in sequences], [s.poses_root_relative for s in sequences],
                          RECEPTIVE_FIELD, BATCH)


def _wild_batches(data_dir: Path) -> WildChunkBatches:
    """S1's motions through random virtual cameras (--augment wild), drawn from a generator seeded with SEED."""
    generator = torch.Generator()
    generator.manual_seed(SEED)
    return WildChunkBatches(world_motions(load_sequences(data_dir, "gt", subjects=["S1"])), RECEPTIVE_FIELD, BATCH,
                            generator=generator)


def _train(data_dir: Path, epochs: int, dropout: float, rank: int = 0, resume: dict | None = None,
           on_epoch_end=None, wild: bool = False) -> dict[str, torch.Tensor]:
    """Train a TinyLifter as ``train_lifting_model`` would (torch seeded with seed + rank); its weights."""
    torch.manual_seed(SEED + rank)
    model = TinyLifter(dropout)
    if resume is not None:
        model.load_state_dict(resume["model_pos"])
    config = lift_config(epochs=epochs, batch_size=BATCH, dropout=dropout, progress=False, device="cpu")
    batches = _wild_batches(data_dir) if wild else _batches(data_dir)
    fit(model, batches, lifting_loss, config, np.random.default_rng(SEED), on_epoch_end, resume)
    return {name: value.clone() for name, value in model.state_dict().items()}


def _train_length_epoch(data_dir: Path, rank: int = 0) -> dict[str, torch.Tensor]:
    """One epoch of a tiny bi-GRU length model on augmented chunks (global batch 16); its weights."""
    from blapose.models.length import BoneLengthModel
    from blapose.train.distributed import current_context, wrap_model
    from blapose.train.length import train_epoch
    from blapose.train.length.batches import LengthBatchBuilder, MotionBank, make_length_sampler

    sequences = load_sequences(data_dir, "gt", subjects=["S1"])[:8]
    table = np.random.default_rng(0).uniform(0.1, 0.45, size=(50, 16))
    builder = LengthBatchBuilder(MotionBank.from_sequences(sequences), make_length_sampler("smpl", table, ["S1"], []),
                                 batch_size=16, chunk_len=32, segment_shift=32)
    torch.manual_seed(SEED + rank)
    model = BoneLengthModel(embed_dim=8, hidden_size=8, dropout=0.0, bidirectional=True)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, amsgrad=True)
    context = current_context("cpu")
    train_epoch(wrap_model(model, context), optimizer, builder, np.random.default_rng(SEED), progress=False,
                context=context)
    return {name: value.clone() for name, value in model.state_dict().items()}


def _saving_callback(directory: Path):
    """on_epoch_end that writes <directory>/epoch<N>_rank<R>.bin (R: the rank that ran it)."""
    def save(result, model, optimizer, rng):
        rank = torch.distributed.get_rank() if torch.distributed.is_initialized() else 0
        save_checkpoint(directory / f"epoch{result.epoch}_rank{rank}.bin",
                        checkpoint_dict(model, optimizer, result.epoch, optimizer.param_groups[0]["lr"], rng,
                                        result.resume_state))
    return save


def _worker(rank: int, world_size: int, port: int, data_dir: str, out_dir: str) -> None:
    """One rank, in the process group as torchrun's variables would have it join (distributed_session)."""
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), LOCAL_RANK=str(rank),
                      WORLD_SIZE=str(world_size))
    torch.set_num_threads(1)
    data, out = Path(data_dir), Path(out_dir)
    with distributed_session("cpu"):
        results = {"plain": _train(data, 2, dropout=0.0, rank=rank), "length": _train_length_epoch(data, rank),
                   "dropout": _train(data, 2, dropout=0.3, rank=rank)}
        _train(data, 1, dropout=0.3, rank=rank, on_epoch_end=_saving_callback(out))
        torch.distributed.barrier()
        checkpoint = load_checkpoint(out / "epoch1_rank0.bin")
        results["resumed"] = _train(data, 2, dropout=0.3, rank=rank, resume=checkpoint)
        results["wild"] = _train(data, 2, dropout=0.3, rank=rank, wild=True)
        _train(data, 1, dropout=0.3, rank=rank, on_epoch_end=_saving_callback(out / "wild"), wild=True)
        torch.distributed.barrier()
        results["wild resumed"] = _train(data, 2, dropout=0.3, rank=rank, wild=True,
                                         resume=load_checkpoint(out / "wild" / "epoch1_rank0.bin"))
        if rank == 0:
            torch.save(results, out / "weights.pt")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def two_process_runs(h36m_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    """Weights of the 2-process runs (plain, with dropout, resumed after epoch 1) and their output folder."""
    out = tmp_path_factory.mktemp("ddp")
    torch.multiprocessing.spawn(_worker, args=(2, _free_port(), str(h36m_data_dir), str(out)), nprocs=2)
    return torch.load(out / "weights.pt"), out


def _assert_same_weights(first: dict, second: dict, atol: float) -> None:
    assert first.keys() == second.keys()
    for name in first:
        torch.testing.assert_close(first[name], second[name], rtol=0, atol=atol, msg=name)


def test_two_processes_end_with_the_weights_of_one_process_with_the_same_global_batch(two_process_runs,
                                                                                      h36m_data_dir):
    """2 gloo ranks each taking half of every -b batch end where 1 process with the whole batch ends."""
    weights, _ = two_process_runs
    single = _train(h36m_data_dir, 2, dropout=0.0)
    _assert_same_weights(weights["plain"], single, atol=1e-5)
    assert not torch.equal(single["linear.weight"], _train(h36m_data_dir, 1, dropout=0.0)["linear.weight"])


def test_two_processes_train_the_length_model_as_one_process(two_process_runs, h36m_data_dir):
    """Length training on 2 ranks (shared augmentation draws, half of each global batch) equals 1 process."""
    weights, _ = two_process_runs
    _assert_same_weights(weights["length"], _train_length_epoch(h36m_data_dir), atol=1e-5)


def test_a_run_resumed_after_epoch_one_equals_the_uninterrupted_run_on_every_rank(two_process_runs):
    """Resuming a 2-process run with dropout from its epoch-1 checkpoint reproduces the 2-epoch run exactly."""
    weights, _ = two_process_runs
    _assert_same_weights(weights["resumed"], weights["dropout"], atol=0.0)


def test_a_wild_run_resumed_after_epoch_one_equals_the_uninterrupted_run_on_every_rank(two_process_runs):
    """--augment wild on 2 ranks: each rank's camera generator is restored, so the resumed run ends where the straight one does."""
    weights, out = two_process_runs
    _assert_same_weights(weights["wild resumed"], weights["wild"], atol=0.0)
    states = load_checkpoint(out / "wild" / "epoch1_rank0.bin")["rank_random_states"]
    assert len(states) == 2 and all(isinstance(state["generators"]["batches"], torch.Tensor) for state in states)


def test_only_rank_zero_writes_checkpoints(two_process_runs):
    """The epoch callback (printing, checkpoints) runs on rank 0 alone: one file, with both ranks' random states."""
    _, out = two_process_runs
    assert sorted(p.name for p in out.glob("*.bin")) == ["epoch1_rank0.bin"]
    states = load_checkpoint(out / "epoch1_rank0.bin")["rank_random_states"]
    assert len(states) == 2 and not torch.equal(states[0]["torch"], states[1]["torch"])


def test_a_single_process_resume_equals_the_uninterrupted_run(h36m_data_dir, tmp_path):
    """With one process, 1 epoch + resume from its checkpoint equals 2 epochs, dropout included."""
    straight = _train(h36m_data_dir, 2, dropout=0.3)
    _train(h36m_data_dir, 1, dropout=0.3, on_epoch_end=_saving_callback(tmp_path))
    resumed = _train(h36m_data_dir, 2, dropout=0.3, resume=load_checkpoint(tmp_path / "epoch1_rank0.bin"))
    _assert_same_weights(resumed, straight, atol=0.0)


def test_a_single_process_wild_resume_equals_the_uninterrupted_run(h36m_data_dir, tmp_path):
    """--augment wild: 1 epoch + resume equals 2 epochs because the camera generator's state is restored; without it, not."""
    straight = _train(h36m_data_dir, 2, dropout=0.3, wild=True)
    _train(h36m_data_dir, 1, dropout=0.3, on_epoch_end=_saving_callback(tmp_path), wild=True)
    checkpoint = load_checkpoint(tmp_path / "epoch1_rank0.bin")
    _assert_same_weights(_train(h36m_data_dir, 2, dropout=0.3, resume=checkpoint, wild=True), straight, atol=0.0)
    for state in checkpoint["rank_random_states"]:
        del state["generators"]
    restarted = _train(h36m_data_dir, 2, dropout=0.3, resume=checkpoint, wild=True)
    assert not torch.equal(restarted["linear.weight"], straight["linear.weight"])


def test_shards_of_a_global_batch_are_disjoint_and_concatenate_to_it():
    """Rank blocks of a global batch concatenate to it, and their weighted mean losses average to its mean loss."""
    batch = torch.randperm(1001)
    blocks = [shard(batch, DistributedContext(rank, 3)) for rank in range(3)]
    assert torch.equal(torch.cat(blocks), batch)
    assert [len(b) for b in blocks] == [334, 334, 333]
    losses = torch.rand(1001, dtype=torch.float64)
    averaged = sum(loss_weight(len(b), len(batch), DistributedContext(rank, 3)) * losses[b].mean()
                   for rank, b in enumerate(blocks)) / 3  # what DDP's gradient average sees
    assert float(averaged) == pytest.approx(float(losses.mean()), rel=1e-12)


def test_device_and_precision_names_are_checked():
    """--device and --amp accept their documented values and refuse others with InputError."""
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(InputError, match="--device"):
        resolve_device("gpu0")
    assert resolve_precision("off", torch.device("cpu")).dtype is None
    assert resolve_precision("bf16", torch.device("cpu")).dtype == torch.bfloat16
    with pytest.raises(InputError, match="fp16"):
        resolve_precision("fp16", torch.device("cpu"))
    if not torch.cuda.is_available():
        with pytest.raises(InputError, match="no CUDA"):
            resolve_device("cuda:0")
