"""``blapose render``: one test video's prediction, adjusted prediction and ground truth as an mp4."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "render", help="render one video's predicted, adjusted and true 3D poses side by side (mp4)",
        description="Draw the 3D poses of one Human3.6M-format video with the blapose renderer: the "
                    "prediction, the prediction adjusted with the video's bone lengths (--lengths) and the "
                    "ground truth (--gt), side by side or overlaid, each seen upright from the front and from "
                    "the side, at --fps.")
    parser.add_argument("--pred", required=True,
                        help="predictions: blapose predictions .npz (blapose predict) or upstream prediction.pkl")
    parser.add_argument("--act", default="3D_prediction/action_dict.pkl",
                        help="action_dict.pkl giving the order of a .pkl prediction list")
    parser.add_argument("--key", required=True, metavar="SUBJECT/ACTION/CAMERA",
                        help="the video to draw, e.g. S9/Walking/0 (camera index 0-3)")
    parser.add_argument("--gt", help="ground-truth 3D poses (data_3d_h36m.npz) to draw beside the prediction")
    parser.add_argument("--lengths", help="lengths_dict.npz: draw the prediction adjusted with the video's lengths")
    parser.add_argument("--out", required=True, help="the mp4 to write")
    parser.add_argument("--fps", type=float, default=50.0, help="frame rate of the output (default: 50, as Human3.6M)")
    parser.add_argument("--overlay", action="store_true",
                        help="draw all poses in one panel (prediction faint) instead of side by side")
    parser.add_argument("--height", type=int, default=480, help="output height in pixels (default: 480)")
    parser.add_argument("--azimuth", type=float, default=0.0,
                        help="turn of the front view, degrees around the vertical from the camera's direction; "
                             "the side view is 90 degrees further (default: 0)")
    parser.set_defaults(run=run)


def parse_key(text: str) -> tuple[str, str, int]:
    """'S9/Walking 1/0' -> ('S9', 'Walking 1', 0); raises InputError for anything else."""
    from ..errors import InputError

    parts = text.rsplit("/", 2)
    if len(parts) != 3 or not parts[0] or not parts[1] or not parts[2].isdigit():
        raise InputError(f"--key {text!r} is not SUBJECT/ACTION/CAMERA, e.g. S9/Walking/0")
    return parts[0], parts[1], int(parts[2])


def camera_up(subject: str, camera: int):
    """World up (3,) in the camera frame of a Human3.6M camera, or None for an unknown subject/camera."""
    import numpy as np

    from ..errors import InputError
    from ..geometry.camera import h36m_cameras
    from ..geometry.rotations import quaternion_to_matrix

    try:
        cameras = h36m_cameras(subject)
    except InputError:  # not a Human3.6M subject: the renderer estimates up from the poses
        return None
    if not 0 <= camera < len(cameras):
        return None
    rotation = quaternion_to_matrix(np.asarray(cameras[camera].orientation))  # camera -> world
    return rotation.T @ np.array([0.0, 0.0, 1.0])


def plan(args: argparse.Namespace) -> dict:
    """The video (``key`` parsed), the files to read (``act`` None for a .npz of predictions), the
    output and how to draw it; ``run`` uses only these."""
    from ..errors import InputError

    if args.height < 64 or args.fps <= 0:
        raise InputError(f"--height must be at least 64 and --fps positive, got {args.height} and {args.fps}")
    return {"key": parse_key(args.key), "pred": args.pred, "act": None if args.pred.endswith(".npz") else args.act,
            "gt": args.gt, "lengths": args.lengths, "out": args.out, "fps": args.fps, "overlay": args.overlay,
            "height": args.height, "azimuth": args.azimuth}


def dataset_poses(settings: dict) -> dict:
    """Label -> (T, 17, 3) meters, camera frame, root-relative, for the ``plan`` given."""
    from ..bones import adjust_poses
    from ..data.h36m import load_poses_3d
    from ..data.predictions import read_predictions
    from ..errors import InputError
    from ..evaluation.adjust import ground_truth_root_relative
    from ..lengths.io import load_lengths_dict

    key, pred = settings["key"], settings["pred"]
    name = "/".join(map(str, key))
    predictions = read_predictions(pred, settings["act"])
    if key not in predictions:
        shown = ", ".join("/".join(map(str, k)) for k in list(predictions)[:3])
        raise InputError(f"{pred}: no video {name}; it holds {len(predictions)} videos, e.g. {shown}")
    predicted = predictions[key].astype("float64")
    predicted = predicted - predicted[:, :1]
    poses = {"prediction": predicted}
    if settings["lengths"]:
        lengths = load_lengths_dict(settings["lengths"])
        if key not in lengths:
            raise InputError(f"{settings['lengths']}: no bone lengths for video {name}")
        video_lengths = lengths[key]
        if video_lengths.shape not in ((16,), (len(predicted), 16)):
            raise InputError(f"{settings['lengths']}: lengths of {name} have shape {video_lengths.shape}, expected "
                             f"(16,) or ({len(predicted)}, 16)")
        poses["adjusted"] = adjust_poses(predicted, video_lengths.astype("float64"))
    if settings["gt"]:
        world = load_poses_3d(settings["gt"], subjects=[key[0]])
        truth = ground_truth_root_relative(world, [key], settings["gt"])[key].astype("float64")
        if len(truth) != len(predicted):
            raise InputError(f"{settings['gt']}: {name} has {len(truth)} frames of ground truth but the prediction "
                             f"has {len(predicted)}")
        poses["ground truth"] = truth
    return poses


def run(args: argparse.Namespace) -> int:
    from ..progress import Progress
    from ..viz.render import write_pose_video

    settings = plan(args)
    poses = dataset_poses(settings)
    subject, _, camera = settings["key"]
    frames = len(next(iter(poses.values())))
    with Progress(total=frames, description="render", unit="frame") as bar:
        path = write_pose_video(settings["out"], poses, settings["fps"], up=camera_up(subject, camera),
                                overlay=settings["overlay"], faint=["prediction"] if settings["overlay"] else (),
                                height=settings["height"], azimuth_deg=settings["azimuth"], progress=bar)
    print(f"wrote {path}: {frames} frames at {settings['fps']:g} fps ({', '.join(poses)})")
    return 0
