"""``blapose evaluate``: upstream ``train.py --evaluate`` for the lifting (-t lift) and fine-tuned (-t mix) models.

Prints action-wise Protocol 1 (MPJPE), Protocol 2 (P-MPJPE), N-MPJPE and MPJVE on the test
subjects, with flip test-time augmentation. The flags are ``blapose train``'s. Only argparse is
imported here.
"""

from __future__ import annotations

import argparse

from .device_args import add_device_arguments
from .train import add_by_subject_argument, add_pose_arguments

#: What ``evaluate --help`` says about the protocols (kept in step with ``blapose.evaluation.protocol``).
PROTOCOLS = (
    "-t lift follows VideoPose3D run.py's evaluate(): flip test-time augmentation, the ground truth's "
    "root joint set to the origin, the model's poses scored as they come (not re-centred), so MPJPE, "
    "N-MPJPE and MPJVE count the predicted root's offset and P-MPJPE does not. -t mix follows BLAPose: "
    "poses rebuilt from a root at the origin with the predicted bone lengths. Both: per action class "
    "the frame-weighted mean over its videos (MPJVE per video over frame differences, weighted by "
    "frames), then the mean over action classes, as VideoPose3D's run_evaluation().")


def add_task_argument(parser: argparse.ArgumentParser) -> None:
    """-t/--task of the commands that use a trained pose model (lift or mix, default mix)."""
    parser.add_argument("-t", "--task", default="mix", choices=["lift", "mix"],
                        help="lift: a lifting model (--direction_model); mix: a fine-tuned model (default)")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate", help="evaluate a lifting or fine-tuned model action-wise (train.py --evaluate)",
        description="Action-wise MPJPE, P-MPJPE, N-MPJPE and MPJVE (mm) of a lifting model (-t lift "
                    "--direction_model FILE) or a fine-tuned model (-t mix --mix_model FILE) on the test "
                    "subjects. " + PROTOCOLS)
    add_task_argument(parser)
    add_pose_arguments(parser)
    add_device_arguments(parser, amp=False)
    output = parser.add_argument_group("output")
    add_by_subject_argument(output)
    output.add_argument("--json", help="write the report as JSON (millimetres; schema of blapose adjust)")
    output.add_argument("--csv", help="write the action-wise table as CSV")
    parser.set_defaults(run=run)


def plan(args: argparse.Namespace):
    """The ``blapose.train.pose.inputs.PoseCommand`` of the flags; reads no file."""
    from ..train.pose.inputs import command_from_args

    return command_from_args(args, "evaluate")


def run(args: argparse.Namespace) -> int:
    command = plan(args)
    from ..evaluation.commands import evaluate
    from ..memory import keep_freed_memory

    keep_freed_memory()  # batch temporaries reuse freed heap instead of new pages
    return evaluate(command)
