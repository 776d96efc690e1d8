"""``blapose download``: fetch upstream BLAPose's published data, checkpoints and predictions."""

from __future__ import annotations

import argparse
import sys

from .types import comma_list


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "download", help="fetch upstream synthetic lengths, checkpoints and 3D predictions (Google Drive)",
        description="Download upstream BLAPose's published files into the layout the other commands "
                    "read: data/ (synthetic bone lengths), checkpoint/ (trained models), 3D_prediction/ "
                    "(predictions of lifting models). Needs gdown (pip install 'blapose[download]') and "
                    "network access; otherwise prints what to fetch by hand.")
    parser.add_argument("--what", default="data,checkpoints,predictions", type=comma_list,
                        help="comma-separated subset of data,checkpoints,predictions (default: all)")
    parser.add_argument("--dest", default=".", help="project folder to fill (default: .)")
    parser.add_argument("--timeout", type=float, default=10.0,
                        help="seconds to wait for Google Drive before giving up (default: 10)")
    parser.set_defaults(run=run)


def plan(args: argparse.Namespace) -> dict:
    """The folders to fetch (checked), where to and how long to wait; ``run`` uses only these."""
    from ..download import parse_what
    from ..errors import InputError

    try:
        names = parse_what(args.what)
    except ValueError as error:
        raise InputError(str(error)) from None
    return {"what": names, "dest": args.dest, "timeout": args.timeout}


def run(args: argparse.Namespace) -> int:
    from ..download import DownloadUnavailable, download

    settings = plan(args)
    try:
        written = download(**settings, log=lambda message: print(message, file=sys.stderr, flush=True))
    except DownloadUnavailable as error:
        print(f"blapose download: {error.reason}", file=sys.stderr)
        print(error.manual_steps, file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path}")
    return 0
