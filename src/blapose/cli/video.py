"""``blapose video``: videos in the wild -> 2D keypoints, 3D poses, bone lengths, npz/mp4/BVH.

Several videos (files, folders) run through ``blapose.video.batch``: each into its own folder,
``--jobs`` at once, ``--shard`` for job arrays; one video runs as it always has.
"""

from __future__ import annotations

import argparse

from .types import box


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "video", help="3D poses with adjusted bone lengths from videos of one person",
        description="Detect one person's 2D keypoints with MediaPipe Pose, lift them to 3D, predict the "
                    "person's bone lengths, adjust the poses and write <name>.npz, a rendered <name>.mp4 "
                    "and, with --bvh, <name>.bvh. Several videos or folders: each video into its own "
                    "folder, a failed one stops only itself, a summary at the end and a non-zero exit if "
                    "any failed. Runs offline on the CPU; needs blapose[video].")
    parser.add_argument("input", metavar="INPUT", nargs="+",
                        help="video files (anything OpenCV reads: mp4, mov, avi, ...) or folders of them")
    parser.add_argument("--out", help="output folder (default output/<video name>); with several videos, a "
                                      "folder or --shard, the folder holding one <video name>/ per video "
                                      "(default output; two videos of the same name get <name>-1, <name>-2)")
    parser.add_argument("--jobs", type=int, default=1, metavar="N",
                        help="videos processed at once, each in its own process with torch on one thread "
                             "(default 1); with more than 1, one line per finished video instead of bars")
    parser.add_argument("--shard", metavar="I/N",
                        help="process only videos I, I+N, I+2N, ... of the sorted list (I from 0), e.g. "
                             "$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT in a job array")
    parser.add_argument("--lifter", default=None, metavar="NAME|CKPT",
                        help="builtin (the shipped temporal model), mediapipe (MediaPipe's own 3D landmarks), "
                             "mediapipe-filtered (the same, low-pass filtered), mediapipe-rays (MediaPipe's 3D "
                             "moved onto the 2D keypoints' viewing rays, filtered), a VideoPose3D-format checkpoint, "
                             "or several joined by + (the mean of their poses); default "
                             "builtin+mediapipe-rays")
    parser.add_argument("--length-model", "--length_model", dest="length_model", default="builtin",
                        metavar="NAME|CKPT", help="builtin (default) or a bone-length model checkpoint")
    parser.add_argument("-bi", "--bidirectional", action="store_true", default=None,
                        help="the length model is a bidirectional GRU (read from the checkpoint when omitted)")
    parser.add_argument("--causal", action="store_true",
                        help="per-frame bone lengths from past frames only (unidirectional length model)")
    parser.add_argument("--no-render", dest="render", action="store_false", help="do not write <name>.mp4")
    parser.add_argument("--bvh", action="store_true", help="also write the adjusted motion as <name>.bvh")
    parser.add_argument("--height", type=float, metavar="METERS",
                        help="the person's standing height: sets the size of the bone lengths (the length "
                             "model gives their proportions)")
    camera = parser.add_mutually_exclusive_group()
    camera.add_argument("--focal", type=float, metavar="PX", help="the camera's focal length in pixels")
    camera.add_argument("--fov", type=float, metavar="DEGREES",
                        help="the camera's field of view across the image's long side (default 65, a phone's "
                             "main camera); with --focal it places the person in the scene")
    parser.add_argument("--no-trajectory", dest="trajectory", action="store_false",
                        help="keep the poses root-relative: no trajectory in the npz, no root motion in the BVH")
    parser.add_argument("--person-box", type=box, metavar="X0,Y0,X1,Y1",
                        help="pixels of a box around the person to follow in the first frame, when several "
                             "are in view (default: whoever MediaPipe finds)")
    parser.add_argument("--start", type=float, metavar="S", help="first second of the video to use")
    parser.add_argument("--end", type=float, metavar="E", help="second of the video to stop at")
    parser.set_defaults(run=run)


def plan(args: argparse.Namespace):
    """A ``blapose.video.batch.BatchPlan``: the keyword arguments of ``blapose.video.pipeline.process``
    for each video, and how many run at once; ``run`` uses only these."""
    from ..video.batch import plan_videos

    settings = {"length_model": args.length_model,
                "bidirectional": args.bidirectional, "causal": args.causal, "render": args.render, "bvh": args.bvh,
                "start": args.start, "end": args.end, "height": args.height, "focal": args.focal, "fov": args.fov,
                "person_box": args.person_box, "trajectory": args.trajectory}
    if args.lifter is not None:
        settings["lifter"] = args.lifter
    return plan_videos(args.input, args.out, settings, shard=args.shard, jobs=args.jobs)


def run(args: argparse.Namespace) -> int:
    import sys

    from ..video.batch import run_videos, summary
    from ..video.pipeline import process

    batch = plan(args)
    if not batch.several:
        process(**batch.videos[0])
        return 0
    if not batch.videos:
        print(f"blapose video: shard {args.shard} holds no video; nothing to do")
        return 0

    def report(outcome, done: int, total: int) -> None:
        print(f"[{done}/{total}] {outcome.line()}", file=sys.stderr, flush=True)

    outcomes = run_videos(batch, report=report, show_progress=batch.jobs == 1)
    print(summary(outcomes))
    return 0 if all(outcome.ok for outcome in outcomes) else 1
