"""The ``--device`` and ``--amp`` flags of every command that runs a model, and ``--nproc`` of training.

``add_device_arguments(parser)`` adds them; ``relaunch_with_torchrun`` turns ``blapose train
--nproc N ...`` into ``torchrun --standalone --nproc_per_node N -m blapose train ...`` (the same
command under ``torch.distributed.run``). Only argparse is imported here.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Sequence


def add_device_arguments(parser: argparse.ArgumentParser, nproc: bool = False, amp: bool = True) -> None:
    """Add ``--device``, with ``amp`` ``--amp`` and with ``nproc`` ``--nproc`` to ``parser``."""
    group = parser.add_argument_group("device")
    group.add_argument("--device", default="auto", metavar="NAME",
                       help="where the model runs: auto (CUDA when present), cpu, cuda or cuda:N; under "
                            "torchrun each process uses its own GPU")
    if amp:
        group.add_argument("--amp", nargs="?", const="bf16", default="off", choices=["off", "bf16", "fp16"],
                           help="mixed precision: --amp alone or --amp bf16 autocasts to bfloat16 (CUDA, or "
                                "the CPU); --amp fp16 to float16 with a gradient scaler (CUDA only); default off")
    if nproc:
        group.add_argument("--nproc", default=1, type=int, metavar="N",
                           help="train in N processes (DistributedDataParallel, one per GPU, or CPU "
                                "processes with gloo), as torchrun --nproc_per_node N would; -b stays the "
                                "global batch")


def argv_without_nproc(argv: Sequence[str]) -> list[str]:
    """``argv`` with every ``--nproc N`` / ``--nproc=N`` removed."""
    kept: list[str] = []
    skip = False
    for item in argv:
        if skip:
            skip = False
        elif item == "--nproc":
            skip = True
        elif not item.startswith("--nproc="):
            kept.append(item)
    return kept


def relaunch_with_torchrun(nproc: int, argv: Sequence[str] | None = None,
                           program: Sequence[str] = ("-m", "blapose")) -> int:
    """Run this command again in ``nproc`` processes under ``torch.distributed.run`` (standalone
    rendezvous on this machine): ``program`` (default the blapose CLI; a script path for a script)
    with ``argv`` (default this process's) less ``--nproc``. Returns its exit status."""
    arguments = argv_without_nproc(sys.argv[1:] if argv is None else argv)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
               *program, *arguments]
    return subprocess.run(command, check=False).returncode
