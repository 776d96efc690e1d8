"""``blapose make-data``: write the built-in Human3.6M-format dataset."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "make-data", help="write the built-in synthetic dataset in Human3.6M formats",
        description="Write data_3d_h36m.npz, data_2d_h36m_gt.npz and data_2d_h36m_cpn_ft_h36m_dbb.npz "
                    "of procedural motion seen through the real Human3.6M cameras (S1,S5,S6,S7,S8 train; "
                    "S9,S11 test).")
    parser.add_argument("--out", default="data", help="output folder (default: data)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--size", choices=("tiny", "small", "full"), default="small",
                        help="small: ~500 frames a sequence; full: Human3.6M-sized, ~2300 frames "
                             "and two takes per action (default: small)")
    parser.set_defaults(run=run)


def plan(args: argparse.Namespace) -> dict:
    """The keyword arguments of ``blapose.data.synthetic.make_dataset``; ``run`` uses only these."""
    return {"out_dir": args.out, "seed": args.seed, "size": args.size}


def run(args: argparse.Namespace) -> int:
    import time

    from ..data.synthetic import make_dataset

    settings = plan(args)
    start = time.perf_counter()
    print(f"Writing the built-in dataset ({settings['size']}, seed {settings['seed']}) to {settings['out_dir']}/ ...",
          flush=True)
    for path in make_dataset(**settings):
        print(f"  {path}")
    print(f"done in {time.perf_counter() - start:.1f} s")
    return 0
