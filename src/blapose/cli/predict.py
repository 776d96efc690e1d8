"""``blapose predict``: a lifting or fine-tuned model's test-set poses in the upstream adjustment format.

Writes prediction.pkl, action_dict.pkl and predictions.npz, which ``blapose adjust`` reads. The
flags are ``blapose evaluate``'s. Only argparse is imported here.
"""

from __future__ import annotations

import argparse

from .device_args import add_device_arguments
from .evaluate import add_task_argument
from .train import add_pose_arguments


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "predict", help="write a model's test-set predictions for blapose adjust",
        description="Predict root-relative 3D poses (meters, camera frame) of the test subjects with a "
                    "lifting model (-t lift --direction_model FILE) or a fine-tuned model (-t mix "
                    "--mix_model FILE) and write prediction.pkl + action_dict.pkl (BLAPose's "
                    "3D_prediction format) and predictions.npz. A lifting model's poses are moved to a "
                    "root at the origin, as that format holds.")
    add_task_argument(parser)
    add_pose_arguments(parser)
    add_device_arguments(parser, amp=False)
    output = parser.add_argument_group("output")
    output.add_argument("-o", "--output", default="", metavar="DIR",
                        help="output folder (default: 3D_prediction/<checkpoint name>)")
    parser.set_defaults(run=run)


def plan(args: argparse.Namespace):
    """The ``blapose.train.pose.inputs.PoseCommand`` of the flags; reads no file."""
    from ..train.pose.inputs import command_from_args

    return command_from_args(args, "predict")


def run(args: argparse.Namespace) -> int:
    command = plan(args)
    from ..evaluation.commands import predict

    return predict(command)
