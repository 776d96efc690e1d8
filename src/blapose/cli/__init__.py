"""The ``blapose`` command: one subcommand per user task, mirroring the upstream scripts.

Each subcommand lives in a module of this package with ``register(subparsers)``, ``plan(args)``
(what the command will do, as the configs and arguments it builds from its flags, without reading
a file) and ``run(args) -> int``, which works from that plan alone; a flag that changes no plan is
a flag that does nothing (``tests/test_cli_flags.py``). Modules import only the standard library
at the top so that ``blapose --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .. import __version__

# Subcommand modules in the order ``blapose --help`` lists them.
COMMAND_MODULES = ("demo", "make_data", "prepare_h36m", "synth_lengths", "download", "train", "infer_lengths",
                   "adjust", "evaluate", "predict", "video", "render")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="blapose",
        description="3D human pose estimation with bone-length adjustment (BLAPose).")
    parser.add_argument("--version", action="version", version=f"blapose {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"{__name__}.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    from ..errors import InputError

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    try:
        return int(args.run(args) or 0)
    except (InputError, FileNotFoundError, IsADirectoryError, PermissionError) as error:
        print(f"blapose {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"blapose {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
