"""``blapose demo``: the whole pipeline on the built-in dataset, one before/after table."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo", help="run the pipeline on the built-in dataset and print one before/after table",
        description="Builds the built-in dataset if absent, trains a bone-length model and a lifting model, "
                    "adjusts the test subjects' predicted poses with several sets of bone lengths, fine-tunes "
                    "the lifting model through the adjustment, and prints one table; writes a CSV and a plot.")
    parser.add_argument("--data", default="data", help="data folder (default: data)")
    parser.add_argument("--out", default="demo_output", help="where the table and plot go")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="shorter training (about 2 minutes)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (default 1: the printed digits then repeat on this machine; "
                             "other thread counts round differently)")
    parser.set_defaults(run=run)


def plan(args: argparse.Namespace):
    """The ``blapose.demo.DemoConfig`` of the flags; ``run`` uses only it."""
    from ..demo import DemoConfig
    from ..errors import InputError

    if args.threads < 1:
        raise InputError(f"--threads must be a positive number of threads, got {args.threads}")
    return DemoConfig(data_dir=args.data, out_dir=args.out, seed=args.seed, quick=args.quick, threads=args.threads)


def run(args: argparse.Namespace) -> int:
    from ..demo import format_table, run_demo

    result = run_demo(plan(args))
    print()
    print(format_table(result.rows))
    for note in result.notes:
        print(note)
    print()
    for path in result.files:
        print(f"wrote {path}")
    print(f"demo finished in {result.seconds:.1f} s")
    return 0
