"""``blapose prepare-h36m``: Human3.6M data files from the original recordings (VideoPose3D's prepare_data_h36m.py)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "prepare-h36m", help="write data_3d_h36m.npz and data_2d_h36m_gt.npz from the Human3.6M files",
        description="Convert Human3.6M's 3D poses into data_3d_h36m.npz (32 joints, meters, world frame) and "
                    "data_2d_h36m_gt.npz (the 17 used joints projected through the four real cameras, pixels), "
                    "as VideoPose3D's data/prepare_data_h36m.py does. Needs cdflib and h5py "
                    "(pip install 'blapose[h36m]').")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--from-source-cdf", metavar="DIR",
                        help="Human3.6M folder holding the original S*/MyPoseFeatures/D3_Positions/*.cdf files")
    source.add_argument("--from-archive", metavar="ZIP",
                        help="h36m.zip of Martinez et al.'s preprocessing (h36m/S*/MyPoses/3D_positions/*.h5)")
    parser.add_argument("--out", default="data", help="output folder (default: data)")
    parser.add_argument("--force", action="store_true", help="replace output files that already exist")
    parser.set_defaults(run=run)


def plan(args: argparse.Namespace) -> dict:
    """What to read (``reader`` 'cdf' or 'archive', ``source``), where to write and whether to replace;
    ``run`` uses only these."""
    reader, source = ("cdf", args.from_source_cdf) if args.from_source_cdf else ("archive", args.from_archive)
    return {"reader": reader, "source": source, "out": args.out, "force": args.force}


def run(args: argparse.Namespace) -> int:
    import time

    from ..data.h36m import keypoints_2d_path, poses_3d_path
    from ..data.prepare_h36m import incomplete_subjects, prepare_h36m, read_archive, read_source_cdf, sequence_counts
    from ..errors import InputError

    settings = plan(args)
    out, source = settings["out"], settings["source"]
    existing = [str(path) for path in (poses_3d_path(out), keypoints_2d_path(out, "gt")) if path.exists()]
    if existing and not settings["force"]:
        raise InputError(f"{' and '.join(existing)} already exist; pass --force to replace them")
    start = time.perf_counter()
    positions_3d = (read_source_cdf if settings["reader"] == "cdf" else read_archive)(source)
    print(f"Read {sequence_counts(positions_3d)} from {source}", flush=True)
    incomplete = incomplete_subjects(positions_3d)
    if incomplete:
        print(f"note: fewer sequences than the complete recordings for {', '.join(incomplete)}", flush=True)
    for path in prepare_h36m(positions_3d, out, source=f"Human3.6M via blapose prepare-h36m from {source}"):
        print(f"  {path}")
    print(f"done in {time.perf_counter() - start:.1f} s")
    return 0
