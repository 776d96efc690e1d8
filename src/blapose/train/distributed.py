"""Training in several processes with torch's DistributedDataParallel, started by torchrun.

torchrun (``torch.distributed.run``) starts one process per device and gives each ``RANK``,
``LOCAL_RANK``, ``WORLD_SIZE``, ``MASTER_ADDR`` and ``MASTER_PORT``; ``distributed_session`` joins
them into a process group (``nccl`` on GPUs, ``gloo`` on CPUs). Without those variables everything
here is the single-process case and costs nothing.

How an epoch is split: every rank draws the same seeded order of the epoch's examples and cuts
it into the same global batches of ``-b`` examples; rank r trains on the r-th of ``world_size``
contiguous, near-equal blocks of each global batch (``shard``). Concatenated in rank order the
blocks are the single-process batch, and the losses are weighted (``loss_weight``) so that the
gradients DDP averages equal the single-process gradient of the whole global batch. So ``-b`` is
the global batch whatever the number of processes.

Randomness: the shared order and augmentation draws come from a numpy generator seeded alike on
every rank; torch's generators (dropout) are seeded per rank, and a batch source may draw from
torch generators of its own (``--augment wild``'s cameras and noise). ``random_states`` gathers
every rank's generator states for a checkpoint and ``restore_random_states`` gives each rank its
own back, so a resumed run continues as the uninterrupted one would.

Batch normalisation: on CUDA the model's batch-norm layers become ``torch.nn.SyncBatchNorm``
(statistics over the global batch); torch has no CPU SyncBatchNorm, so on CPUs each rank
normalises with its own block's statistics.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from .device import resolve_device


@dataclass(frozen=True)
class DistributedContext:
    """This process's place in a run: rank among ``world_size`` processes and its device."""

    rank: int = 0
    world_size: int = 1
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def is_main(self) -> bool:
        """True on the process that prints and writes files (rank 0)."""
        return self.rank == 0

    @property
    def is_distributed(self) -> bool:
        return self.world_size > 1


def launched_by_torchrun() -> bool:
    """True when torchrun started this process as one of several."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def current_context(device: torch.device | str | None = None) -> DistributedContext:
    """The context of this process: rank and world size of the joined process group (or 0 of 1),
    and ``device`` (a name is resolved; None: 'auto')."""
    import torch.distributed as dist

    resolved = device if isinstance(device, torch.device) else resolve_device(device)
    if dist.is_available() and dist.is_initialized():
        return DistributedContext(dist.get_rank(), dist.get_world_size(), resolved)
    return DistributedContext(device=resolved)


@contextmanager
def distributed_session(device_name: str | None = "auto") -> Iterator[DistributedContext]:
    """Join torchrun's process group for the block (when torchrun started us) and leave it after.

    The backend is ``nccl`` when the device is CUDA (each rank on GPU ``LOCAL_RANK``), else ``gloo``.
    Standard output of ranks other than 0 is discarded inside the block.
    """
    import torch.distributed as dist

    device = resolve_device(device_name)
    if not launched_by_torchrun() or dist.is_initialized():
        yield current_context(device)
        return
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo",
                            device_id=device if device.type == "cuda" else None)
    context = current_context(device)
    try:
        # Only rank 0 prints: the other ranks' standard output goes nowhere (errors still show).
        with open(os.devnull, "w") as quiet, redirect_stdout(quiet if not context.is_main else sys.stdout):
            yield context
        _settle()
    finally:
        dist.destroy_process_group()


def _settle() -> None:
    """Wait at a barrier of all ranks before the process group is destroyed.

    gloo's worker threads release a collective's tensors after its caller has moved on, and that
    needs the interpreter. DDP keeps the process group (and those threads) alive until the process
    exits, so a rank that leaves right after its last collective can still be releasing it while
    Python shuts down, which aborts the process (SIGABRT, 'terminate called without an active
    exception'). The barrier hands the interpreter to those threads while every rank finishes.
    Not on errors: a failed rank never reaches the barrier.
    """
    import torch.distributed as dist

    dist.barrier()


def shard(indices: torch.Tensor | np.ndarray, context: DistributedContext) -> torch.Tensor | np.ndarray:
    """This rank's block of a global batch of example ``indices`` (B,): the ``rank``-th of
    ``world_size`` contiguous near-equal blocks (the first ``B % world_size`` one longer)."""
    if not context.is_distributed:
        return indices
    if isinstance(indices, np.ndarray):
        return np.array_split(indices, context.world_size)[context.rank]
    return torch.tensor_split(indices, context.world_size)[context.rank]


def loss_weight(local_size: int, global_size: int, context: DistributedContext) -> float:
    """Factor on a rank's mean loss over its ``local_size`` examples so that DDP's gradient average
    over ranks equals the gradient of the mean loss over the ``global_size`` examples."""
    return local_size * context.world_size / global_size


def all_reduce_sum(tensor: torch.Tensor, context: DistributedContext) -> torch.Tensor:
    """The sum of ``tensor`` (on the context's device) over all ranks; ``tensor`` itself when alone."""
    if not context.is_distributed:
        return tensor
    import torch.distributed as dist

    total = tensor.clone()
    dist.all_reduce(total, op=dist.ReduceOp.SUM)
    return total


def wrap_model(model: nn.Module, context: DistributedContext) -> nn.Module:
    """``model`` (already on the context's device) wrapped in DDP when several ranks train;
    on CUDA its batch norms are synchronised first (in place, keeping parameter names)."""
    if not context.is_distributed:
        return model
    from torch.nn.parallel import DistributedDataParallel

    if context.device.type == "cuda":
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        return DistributedDataParallel(model, device_ids=[context.device.index])
    return DistributedDataParallel(model)


def unwrap_model(model: nn.Module) -> nn.Module:
    """The module inside a DDP wrapper, or ``model`` itself."""
    return getattr(model, "module", model)


def seed_torch(seed: int, context: DistributedContext) -> None:
    """Seed torch's CPU and CUDA generators with ``seed + rank`` (dropout differs across ranks)."""
    torch.manual_seed(seed + context.rank)


def _own_random_state(rng: np.random.Generator, context: DistributedContext,
                      generators: Mapping[str, torch.Generator]) -> dict[str, Any]:
    state: dict[str, Any] = {"numpy": rng.bit_generator.state, "torch": torch.get_rng_state()}
    if context.device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(context.device)
    if generators:
        state["generators"] = {name: generator.get_state() for name, generator in generators.items()}
    return state


def random_states(rng: np.random.Generator, context: DistributedContext,
                  generators: Mapping[str, torch.Generator] | None = None) -> list[dict[str, Any]]:
    """Every rank's generator states, in rank order: {'numpy': bit-generator state dict, 'torch':
    CPU generator state, 'cuda': its GPU's state (on CUDA), 'generators': {name: state} of the
    named ``generators`` (when given)}. Every rank must call it together."""
    own = _own_random_state(rng, context, generators or {})
    if not context.is_distributed:
        return [own]
    import torch.distributed as dist

    gathered: list[Any] = [None] * context.world_size
    dist.all_gather_object(gathered, own)
    return gathered


def restore_random_states(states: Any, rng: np.random.Generator, context: DistributedContext,
                          generators: Mapping[str, torch.Generator] | None = None) -> bool:
    """Give this rank its generator states back from ``random_states``'s list, the named
    ``generators`` included; False (nothing changed) when the list does not hold one valid entry
    per rank of this run with a state for each of ``generators``."""
    if not isinstance(states, (list, tuple)) or len(states) != context.world_size:
        return False
    own = states[context.rank]
    numpy_state = own.get("numpy") if isinstance(own, dict) else None
    if not isinstance(numpy_state, dict) or numpy_state.get("bit_generator") != type(rng.bit_generator).__name__ \
            or not isinstance(own.get("torch"), torch.Tensor):
        return False
    saved = own.get("generators")
    generators = generators or {}
    if generators and not (isinstance(saved, dict) and all(isinstance(saved.get(name), torch.Tensor)
                                                           for name in generators)):
        return False
    rng.bit_generator.state = numpy_state
    torch.set_rng_state(own["torch"])
    if context.device.type == "cuda" and isinstance(own.get("cuda"), torch.Tensor):
        torch.cuda.set_rng_state(own["cuda"], context.device)
    for name, generator in generators.items():
        generator.set_state(saved[name])
    return True
