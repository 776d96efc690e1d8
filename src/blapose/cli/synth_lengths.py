"""``blapose synth-lengths``: synthetic bone lengths from a body model (upstream generate_bone_length.py)."""

from __future__ import annotations

import argparse
import sys

DEFAULT_DATA = "data/data_3d_h36m.npz"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "synth-lengths", help="generate synthetic bone lengths from a body model (Anny or SMPL)",
        description="Draw random bodies from a body model and write their 16 bone lengths (meters, "
                    "left/right averaged) as bone_lengths_<model>_<gender>.npz; with --align, write "
                    "bone_lengths_h36m.npz (per-subject lengths of the 3D data) and the lengths shifted "
                    "to the mean of the training subjects (..._train.npz) and of all subjects (..._all.npz).")
    parser.add_argument("--body-model", choices=("anny", "smpl"), default="anny",
                        help="anny (pip install 'blapose[anny]') or smpl (your SMPL files, see "
                             "--body-model-dir) (default: anny)")
    parser.add_argument("--gender", choices=("neutral", "mix", "male", "female"), default="neutral",
                        help="neutral: Anny's whole adult population / SMPL's neutral model; mix: half male, "
                             "half female (default: neutral)")
    parser.add_argument("--joints", choices=("h36m", "mediapipe"), default="h36m",
                        help="h36m: Human3.6M's joints (default); mediapipe: the joints blapose video places on "
                             "MediaPipe's landmarks, for video length models (Anny only; writes "
                             "bone_lengths_anny_mediapipe_<gender>.npz with each body's height)")
    parser.add_argument("--amount", type=int, default=200000, help="number of bodies (default: 200000)")
    parser.add_argument("--align", action="store_true",
                        help="align with the subjects of --data (writes the _train and _all files)")
    parser.add_argument("--data", default=None,
                        help=f"Human3.6M 3D poses for --align and the report (default: {DEFAULT_DATA}, "
                             "used for the report when it exists)")
    parser.add_argument("--body-model-dir", default="data/bone_length",
                        help="folder with J_regressor_h36m_correct.npy and body_models/smpl/SMPL_*.pkl "
                             "(default: data/bone_length)")
    parser.add_argument("--out", default="data", help="output folder (default: data)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default: 1)")
    parser.set_defaults(run=run)


def plan(args: argparse.Namespace) -> dict:
    """What to generate (body model, gender, amount, seed; SMPL's folder), whether to align and
    with which 3D data (None: the default file, if present), and where to write; ``run`` uses only these."""
    from ..errors import InputError

    if args.amount < 1:
        raise InputError(f"--amount must be at least 1, got {args.amount}")
    if args.joints != "h36m" and args.align:
        raise InputError("--align shifts lengths to Human3.6M subjects; it does not apply to --joints mediapipe")
    return {"body_model": args.body_model, "gender": args.gender, "amount": args.amount, "seed": args.seed,
            "body_model_dir": args.body_model_dir, "align": args.align, "data": args.data, "out": args.out,
            "joints": args.joints}


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    import numpy as np

    from ..data.h36m import load_poses_3d
    from ..errors import InputError
    from ..lengths.reference import subject_mean_lengths
    from ..lengths.synthetic.align import TEST_SUBJECT_COUNT, aligned_sets
    from ..lengths.synthetic.files import SUBJECT_LENGTHS_NAME, synthetic_lengths_name, write_lengths
    from ..lengths.synthetic.generate import generate_lengths
    from ..lengths.synthetic.report import length_report

    settings = plan(args)
    body_model, gender, align = settings["body_model"], settings["gender"], settings["align"]
    data_path = Path(settings["data"] or DEFAULT_DATA)
    if (settings["data"] is not None or align) and not data_path.is_file():
        raise InputError(f"{data_path}: file not found (3D poses needed for "
                         f"{'--align' if align else '--data'}; see 'blapose make-data')")
    subjects, subject_lengths = [], None
    if data_path.is_file():  # read before the long generation, so a bad file fails fast
        subjects, subject_lengths = subject_mean_lengths(load_poses_3d(data_path))
    if align and len(subjects) <= TEST_SUBJECT_COUNT:
        raise InputError(f"{data_path}: --align needs more than {TEST_SUBJECT_COUNT} subjects "
                         f"(the last {TEST_SUBJECT_COUNT} are test subjects), found {len(subjects)}")

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    joints = settings["joints"]
    lengths = generate_lengths(body_model, gender, settings["amount"], np.random.default_rng(settings["seed"]),
                               body_model_dir=settings["body_model_dir"], log=log, joints=joints)
    out = Path(settings["out"])
    written = []
    if joints != "h36m":
        lengths, heights = lengths[:, :-1], lengths[:, -1]
        written.append(write_lengths(out / synthetic_lengths_name(body_model, gender, joints=joints), lengths, heights))
        print(f"standing height: mean {heights.mean():.3f} m, 1st-99th percentile "
              f"{np.percentile(heights, 1):.3f}-{np.percentile(heights, 99):.3f} m")
        subjects, subject_lengths = [], None  # another joint definition than the dataset's subjects
    elif align:
        written.append(write_lengths(out / SUBJECT_LENGTHS_NAME, subject_lengths))
        for alignment, shifted in aligned_sets(lengths, subject_lengths).items():
            written.append(write_lengths(out / synthetic_lengths_name(body_model, gender, alignment), shifted))
    else:
        written.append(write_lengths(out / synthetic_lengths_name(body_model, gender), lengths))
    print(length_report(lengths, subjects, subject_lengths, title=body_model))
    for path in written:
        print(f"wrote {path}")
    return 0
