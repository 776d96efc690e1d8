"""``blapose demo``: the whole pipeline on the built-in dataset, one before/after table."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo", help="run the pipeline on the built-in dataset and print one before/after table",
        description="Builds the built-in dataset if absent, predicts the test subjects' 3D poses, adjusts "
                    "their bone lengths and prints the errors; writes a CSV table and a plot.")
    parser.add_argument("--data", default="data", help="data folder (default: data)")
    parser.add_argument("--out", default="demo_output", help="where the table and plot go")
    parser.add_argument("--seed", type=int, default=0)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..demo import DemoConfig, format_table, run_demo

    result = run_demo(DemoConfig(data_dir=args.data, out_dir=args.out, seed=args.seed))
    print()
    print(format_table(result.rows))
    print()
    for path in result.files:
        print(f"wrote {path}")
    print(f"demo finished in {result.seconds:.1f} s")
    return 0
