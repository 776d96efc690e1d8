"""Speed of synthetic bone lengths from the Anny body model: model build/load and bodies per second.

Cold: the first build of Anny's model data into an empty temporary cache (one to two minutes,
then pruned to the compact file). Warm: loading the cached model, then generating --bodies
bodies in batches, as ``blapose synth-lengths --body-model anny`` does. Uses --threads CPU
threads (default 2). Needs ``pip install 'blapose[anny]'``.

    python benchmarks/bench_synth_lengths.py [--cold] [--bodies 20000] [--threads 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def generate(bodies, amount: int, seed: int) -> float:
    """Seconds to draw ``amount`` bodies' lengths from a loaded model."""
    from blapose.lengths.synthetic.anny_model import iter_anny_lengths

    start = time.perf_counter()
    total = sum(len(chunk) for chunk in iter_anny_lengths(bodies, amount, "neutral", np.random.default_rng(seed)))
    assert total == amount
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", action="store_true", help="also time the first build in an empty cache")
    parser.add_argument("--bodies", type=int, default=20000, help="bodies to generate per timing")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    args = parser.parse_args()

    from blapose.lengths.synthetic.anny_model import anny_cache_dir, load_anny_bodies, require_anny
    from blapose.lengths.synthetic.cache import folder_size_bytes

    require_anny()
    torch.set_num_threads(args.threads)
    print(f"threads {torch.get_num_threads()}, bodies per timing {args.bodies}")
    if args.cold:
        with tempfile.TemporaryDirectory(prefix="blapose-anny-cold-") as folder:
            start = time.perf_counter()
            bodies = load_anny_bodies(Path(folder), log=lambda message: print(f"  {message}"))
            build = time.perf_counter() - start
            seconds = generate(bodies, args.bodies, seed=0)
            print(f"cold: build {build:.1f} s, cache kept {folder_size_bytes(Path(folder)) / 2**20:.0f} MB, "
                  f"then {args.bodies / seconds:.0f} bodies/s")
    start = time.perf_counter()
    bodies = load_anny_bodies(log=lambda message: print(f"  {message}"))
    load = time.perf_counter() - start
    generate(bodies, min(args.bodies, 4096), seed=1)  # warm-up
    seconds = generate(bodies, args.bodies, seed=2)
    rate = args.bodies / seconds
    print(f"warm: load {load:.2f} s ({anny_cache_dir()}), {rate:.0f} bodies/s, "
          f"200000 bodies ~ {200000 / rate:.0f} s (extrapolated)")


if __name__ == "__main__":
    main()
