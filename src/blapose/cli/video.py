"""``blapose video``: a video in the wild -> 2D keypoints, 3D poses, bone lengths, npz/mp4/BVH."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "video", help="3D poses with adjusted bone lengths from a video of one person",
        description="Detect one person's 2D keypoints with MediaPipe Pose, lift them to 3D, predict the "
                    "person's bone lengths, adjust the poses and write <name>.npz, a rendered <name>.mp4 "
                    "and, with --bvh, <name>.bvh. Runs offline on the CPU; needs blapose[video].")
    parser.add_argument("input", metavar="INPUT", help="video file (anything OpenCV reads: mp4, mov, avi, ...)")
    parser.add_argument("--out", help="output folder (default output/<video name>)")
    parser.add_argument("--lifter", default="builtin", metavar="NAME|CKPT",
                        help="builtin (default), mediapipe (MediaPipe's own 3D landmarks, a baseline) or a "
                             "VideoPose3D-format checkpoint")
    parser.add_argument("--length-model", "--length_model", dest="length_model", default="builtin",
                        metavar="NAME|CKPT", help="builtin (default) or a bone-length model checkpoint")
    parser.add_argument("-bi", "--bidirectional", action="store_true", default=None,
                        help="the length model is a bidirectional GRU (read from the checkpoint when omitted)")
    parser.add_argument("--causal", action="store_true",
                        help="per-frame bone lengths from past frames only (unidirectional length model)")
    parser.add_argument("--no-render", dest="render", action="store_false", help="do not write <name>.mp4")
    parser.add_argument("--bvh", action="store_true", help="also write the adjusted motion as <name>.bvh")
    parser.add_argument("--start", type=float, metavar="S", help="first second of the video to use")
    parser.add_argument("--end", type=float, metavar="E", help="second of the video to stop at")
    parser.set_defaults(run=run)


def plan(args: argparse.Namespace) -> dict:
    """The keyword arguments of ``blapose.video.pipeline.process``; ``run`` uses only these."""
    return {"path": args.input, "out_dir": args.out, "lifter": args.lifter, "length_model": args.length_model,
            "bidirectional": args.bidirectional, "causal": args.causal, "render": args.render, "bvh": args.bvh,
            "start": args.start, "end": args.end}


def run(args: argparse.Namespace) -> int:
    from ..video.pipeline import process

    process(**plan(args))
    return 0
