"""``blapose video``: videos in the wild (or another detector's 2D keypoints) -> every person's 2D
keypoints, 3D poses, bone lengths, npz/mp4/BVH/TRC/C3D.

Several videos (files, folders) run through ``blapose.video.batch``: each into its own folder,
``--jobs`` at once, ``--shard`` for job arrays; one video (or a keypoint file alone) runs directly.
"""

from __future__ import annotations

import argparse

from .types import box, frame_size


def people_count(text: str) -> str | int:
    """'all' -> 'all'; 'N' -> N, a whole number of people at least 1."""
    if text.strip().lower() == "all":
        return "all"
    try:
        count = int(text)
    except ValueError:
        count = 0
    if count < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be 'all' or a number of people (at least 1)")
    return count


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "video", help="3D poses with adjusted bone lengths for every person in videos",
        description="Detect every person's 2D keypoints with MediaPipe Pose (or read another detector's with "
                    "--keypoints), follow each person, lift them to 3D, predict each person's bone lengths, "
                    "adjust the poses and write <name>_person<K>.npz per person (K = 1, 2, ... by first "
                    "appearance), one rendered <name>.mp4 with everyone and, on request, per-person BVH, TRC "
                    "and C3D files. Several videos or folders: each video into its own folder, a failed one "
                    "stops only itself, a summary at the end and a non-zero exit if any failed. Runs offline "
                    "on the CPU; needs blapose[video].")
    parser.add_argument("input", metavar="INPUT", nargs="*",
                        help="video files (anything OpenCV reads: mp4, mov, avi, ...) or folders of them; may be "
                             "left out with --keypoints (then nothing is rendered)")
    parser.add_argument("--out", help="output folder (default output/<video name>); with several videos, a "
                                      "folder or --shard, the folder holding one <video name>/ per video "
                                      "(default output; two videos of the same name get <name>-1, <name>-2)")
    parser.add_argument("--jobs", type=int, default=1, metavar="N",
                        help="videos processed at once, each in its own process with torch on one thread "
                             "(default 1); with more than 1, one line per finished video instead of bars")
    parser.add_argument("--shard", metavar="I/N",
                        help="process only videos I, I+N, I+2N, ... of the sorted list (I from 0), e.g. "
                             "$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT in a job array")
    who = parser.add_argument_group("people")
    who.add_argument("--people", type=people_count, default="all", metavar="all|N",
                     help="all: everyone followed for at least --min-seconds (default); N: the N people "
                          "followed longest")
    who.add_argument("--person-box", type=box, metavar="X0,Y0,X1,Y1",
                     help="pixels of a box around the one person to follow in the first frame (nobody else "
                          "is followed)")
    who.add_argument("--min-seconds", type=float, default=1.0, metavar="S",
                     help="people detected in less than S seconds of frames are left out (default 1)")
    source = parser.add_argument_group("2D and 3D from other tools")
    source.add_argument("--keypoints", metavar="PATH",
                        help="another detector's 2D keypoints (OpenPose JSON folder, AlphaPose, COCO results, "
                             "MMPose, VideoPose3D npz, Sports2D pixel TRC), lifted instead of running MediaPipe; "
                             "drawn on the video when one is given")
    source.add_argument("--keypoints-format", metavar="NAME",
                        help="the format of --keypoints: videopose3d, openpose, alphapose, coco, mmpose or trc "
                             "(default: recognised from the file)")
    source.add_argument("--fps", type=float, metavar="FPS",
                        help="frame rate of --keypoints without a video, when the file does not give it")
    source.add_argument("--size", type=frame_size, metavar="W,H",
                        help="frame size (pixels) of --keypoints without a video, when the file does not give it")
    source.add_argument("--poses", metavar="FILE",
                        help="3D poses of another lifter (npz array 'poses' or npy, (T, 17, 3) meters, camera "
                             "frame, Human3.6M order, one per frame used) instead of a lifter: their bone "
                             "lengths are predicted from the 2D and adjusted; one person only")
    lifting = parser.add_argument_group("lifting and bone lengths")
    lifting.add_argument("--lifter", default=None, metavar="NAME|CKPT",
                         help="builtin (the shipped temporal model), mediapipe (MediaPipe's own 3D landmarks), "
                              "mediapipe-filtered (the same, low-pass filtered), mediapipe-rays (MediaPipe's 3D "
                              "moved onto the 2D keypoints' viewing rays, filtered), a VideoPose3D-format "
                              "checkpoint, or several joined by + (the mean of their poses); default "
                              "builtin+mediapipe-rays (builtin with --keypoints)")
    lifting.add_argument("--length-model", "--length_model", dest="length_model", default="builtin",
                         metavar="NAME|CKPT", help="builtin (default) or a bone-length model checkpoint")
    lifting.add_argument("-bi", "--bidirectional", action="store_true", default=None,
                         help="the length model is a bidirectional GRU (read from the checkpoint when omitted)")
    lifting.add_argument("--causal", action="store_true",
                         help="per-frame bone lengths from past frames only (unidirectional length model)")
    lifting.add_argument("--height", type=float, metavar="METERS",
                         help="the person's standing height: sets the size of the bone lengths (the length "
                              "model gives their proportions); one person only")
    camera = parser.add_mutually_exclusive_group()
    camera.add_argument("--focal", type=float, metavar="PX", help="the camera's focal length in pixels")
    camera.add_argument("--fov", type=float, metavar="DEGREES",
                        help="the camera's field of view across the image's long side (default 65, a phone's "
                             "main camera); with --focal it places the people in the scene")
    parser.add_argument("--no-trajectory", dest="trajectory", action="store_false",
                        help="keep the poses root-relative: no trajectory in the npz, no root motion in the "
                             "BVH, TRC and C3D markers about the origin")
    files = parser.add_argument_group("outputs")
    files.add_argument("--no-render", dest="render", action="store_false", help="do not write <name>.mp4")
    files.add_argument("--bvh", action="store_true", help="also write each person's motion as <name>_person<K>.bvh")
    files.add_argument("--trc", action="store_true",
                       help="also write each person's joints as markers in <name>_person<K>.trc (meters, Y up, "
                            "the BVH's upright frame; OpenSim, Pose2Sim)")
    files.add_argument("--c3d", action="store_true",
                       help="also write each person's markers as <name>_person<K>.c3d (needs blapose[c3d])")
    parser.add_argument("--start", type=float, metavar="S", help="first second of the video to use")
    parser.add_argument("--end", type=float, metavar="E", help="second of the video to stop at")
    parser.set_defaults(run=run)


def plan(args: argparse.Namespace):
    """A ``blapose.video.batch.BatchPlan``: the options objects of ``blapose.video.pipeline.process``
    for each video (or the keypoint file alone), and how many run at once; ``run`` uses only these."""
    from ..errors import InputError
    from ..video.batch import BatchPlan, plan_videos
    from ..video.options import Lifting, Outputs, PersonChoice, Scene, Source

    settings = {
        "source": Source(args.start, args.end, args.keypoints, args.keypoints_format, args.poses, args.fps,
                         args.size),
        "people": PersonChoice(args.people, args.person_box, args.min_seconds),
        "lifting": Lifting(args.lifter, args.length_model, args.bidirectional, args.causal, args.height),
        "scene": Scene(args.focal, args.fov, args.trajectory),
        "outputs": Outputs(None, args.render, args.bvh, args.trc, args.c3d),
    }
    if not args.input:
        if args.keypoints is None:
            raise InputError("give a video (INPUT), or 2D keypoints with --keypoints")
        if args.shard is not None:
            raise InputError("--shard shares out videos; there is none, only --keypoints")
        return BatchPlan([{**settings, "path": None, "out_dir": args.out}], args.jobs, False)
    batch = plan_videos(args.input, args.out, settings, shard=args.shard, jobs=args.jobs)
    if batch.several:
        for flag, value in (("--keypoints", args.keypoints), ("--poses", args.poses)):
            if value is not None:
                raise InputError(f"{flag} belongs to one video; give one video with it")
    return batch


def run(args: argparse.Namespace) -> int:
    import sys

    from ..video.batch import process_video, run_videos, summary

    batch = plan(args)
    if not batch.several:
        process_video(batch.videos[0], show_progress=True, log=print)
        return 0
    if not batch.videos:
        print(f"blapose video: shard {args.shard} holds no video; nothing to do")
        return 0

    def report(outcome, done: int, total: int) -> None:
        print(f"[{done}/{total}] {outcome.line()}", file=sys.stderr, flush=True)

    outcomes = run_videos(batch, report=report, show_progress=batch.jobs == 1)
    print(summary(outcomes))
    return 0 if all(outcome.ok for outcome in outcomes) else 1
