"""``blapose evaluate``: upstream ``train.py --evaluate`` for the lifting (-t lift) and fine-tuned (-t mix) models.

Prints action-wise Protocol 1 (MPJPE), Protocol 2 (P-MPJPE), N-MPJPE and MPJVE on the test
subjects, with flip test-time augmentation. Only argparse is imported here.
"""

from __future__ import annotations

import argparse


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags that pick the data, the pose model and its bone lengths (names as upstream train.py)."""
    data = parser.add_argument_group("data")
    data.add_argument("-d", "--dataset", default="h36m", metavar="NAME", help="target dataset")
    data.add_argument("-k", "--keypoints", default="cpn_ft_h36m_dbb", metavar="NAME",
                      help="2D detections to use (<data-dir>/data_2d_h36m_<NAME>.npz)")
    data.add_argument("--data-dir", default="data", metavar="PATH", help="folder of the data_3d/data_2d files")
    data.add_argument("-str", "--subjects-train", default="S1,S5,S6,S7,S8", metavar="LIST",
                      help="training subjects (only to place the rows of a positional lengths list)")
    data.add_argument("-ste", "--subjects-test", default="S9,S11", metavar="LIST",
                      help="test subjects separated by comma")
    data.add_argument("-a", "--actions", default="*", metavar="LIST",
                      help="action name prefixes separated by comma, or * for all")
    data.add_argument("--downsample", default=1, type=int, metavar="FACTOR", help="keep every FACTOR-th frame")

    model = parser.add_argument_group("model")
    model.add_argument("-t", "--task", default="mix", choices=["lift", "mix"],
                       help="lift: a lifting model (--direction_model); mix: a fine-tuned model (default)")
    model.add_argument("-c", "--checkpoint", default="checkpoint", metavar="PATH",
                       help="folder where checkpoint names are looked up")
    model.add_argument("--mix_model", default="", metavar="FILENAME", help="fine-tuned (-t mix) checkpoint")
    model.add_argument("--direction_model", default="", metavar="FILENAME",
                       help="lifting model checkpoint, e.g. VideoPose3D's pretrained_h36m_cpn.bin")
    model.add_argument("--length_model", default="", metavar="FILENAME",
                       help="bone-length model checkpoint, composed with --direction_model for -t mix")
    model.add_argument("-arc", "--architecture", default="3,3,3,3", metavar="LAYERS",
                       help="filter widths separated by comma")
    model.add_argument("-ch", "--channels", default=1024, type=int, metavar="N",
                       help="number of channels in convolution layers")
    model.add_argument("-bi", "--bidirectional", action="store_true", help="the length model is a bi-GRU")
    model.add_argument("-bld", "--bone_length_dict", default="data/lengths_dict.npz", metavar="NAME",
                       help="predicted bone lengths (used when the mix checkpoint has no length model)")
    model.add_argument("-bll", "--bone_length_list", default="data/lengths_list.npz", metavar="NAME",
                       help="predicted bone lengths in list format (used when the dict is absent)")
    model.add_argument("-no-tta", "--no-test-time-augmentation", dest="test_time_augmentation",
                       action="store_false", help="disable test-time flipping")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate", help="evaluate a lifting or fine-tuned model action-wise (train.py --evaluate)",
        description="Action-wise MPJPE, P-MPJPE, N-MPJPE and MPJVE (mm) of a lifting model (-t lift "
                    "--direction_model FILE) or a fine-tuned model (-t mix --mix_model FILE) on the test "
                    "subjects, with flip test-time augmentation.")
    add_model_arguments(parser)
    output = parser.add_argument_group("output")
    output.add_argument("--json", help="write the report as JSON (millimetres; schema of blapose adjust)")
    output.add_argument("--csv", help="write the action-wise table as CSV")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..train.pose_cli import evaluate_from_args

    return evaluate_from_args(args)
