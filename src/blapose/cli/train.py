"""``blapose train``: upstream BLAPose ``train.py`` with the same flags (utils/arguments.py).

``-t length`` trains the bone-length model (``blapose.train.length``); ``-t lift`` / ``-t mix``
train or fine-tune the temporal lifting model (``blapose.train.pose``, flags mapped by
``blapose.train.pose.inputs``, run by ``blapose.train.pose.commands``), and with ``--evaluate``
evaluate it as ``blapose evaluate`` does (``blapose.evaluation.commands``). The flags come in
groups, one ``add_*_arguments`` function each; ``evaluate`` and ``predict`` build their parsers from
the same pose groups (``add_pose_arguments``). ``plan`` maps the flags onto what the command will do
(reading no file) and ``run`` works from that alone. Only the standard library is imported here; the
work happens in ``run``.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .types import comma_list, comma_list_or_all, int_list


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train", help="train the bone-length model (-t length) or the lifting model (-t lift/mix)",
        description="Training script with the flags of upstream BLAPose train.py. Data files are read "
                    "from --data-dir (default ./data), checkpoints written to -c (default ./checkpoint).")
    add_arguments(parser)
    parser.set_defaults(run=run)


# Flag groups, one function each; ``train``, ``evaluate`` and ``predict`` build their parsers from them.

def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """Which data: dataset, 2D detections, data folder, subjects, actions, frame downsampling."""
    data = parser.add_argument_group("data")
    data.add_argument("-d", "--dataset", default="h36m", metavar="NAME", help="target dataset")
    data.add_argument("-k", "--keypoints", default="cpn_ft_h36m_dbb", metavar="NAME",
                      help="2D detections to use (<data-dir>/data_2d_h36m_<NAME>.npz)")
    data.add_argument("--data-dir", default="data", metavar="PATH",
                      help="folder of the data_3d/data_2d files (blapose addition)")
    data.add_argument("-str", "--subjects-train", default="S1,S5,S6,S7,S8", type=comma_list, metavar="LIST",
                      help="training subjects separated by comma (also place the rows of a positional "
                           "lengths list)")
    data.add_argument("-ste", "--subjects-test", default="S9,S11", type=comma_list, metavar="LIST",
                      help="test subjects separated by comma")
    data.add_argument("-a", "--actions", default="*", type=comma_list_or_all, metavar="LIST",
                      help="actions to train/test on (name prefixes) separated by comma, or * for all")
    data.add_argument("--downsample", default=1, type=int, metavar="FACTOR",
                      help="downsample frame rate by factor")


def add_checkpoint_arguments(parser: argparse.ArgumentParser) -> None:
    """Which models: the checkpoint folder and the lifting, fine-tuned and bone-length checkpoints."""
    files = parser.add_argument_group("checkpoints")
    files.add_argument("-c", "--checkpoint", default="checkpoint", metavar="PATH",
                       help="checkpoint directory (checkpoint names are looked up here)")
    files.add_argument("--direction_model", default="", metavar="FILENAME",
                       help="pretrained lifting (direction) model checkpoint, e.g. VideoPose3D's "
                            "pretrained_h36m_cpn.bin")
    files.add_argument("--mix_model", default="", metavar="FILENAME",
                       help="fine-tuned mixed model checkpoint (-t mix)")
    files.add_argument("--length_model", default="", metavar="FILENAME",
                       help="bone-length model checkpoint (composed with --direction_model for -t mix; "
                            "evaluated or resumed with -t length)")


def add_bone_length_arguments(parser: argparse.ArgumentParser) -> None:
    """Where the predicted bone lengths per video are read from (blapose infer-lengths writes them)."""
    lengths = parser.add_argument_group("predicted bone lengths")
    lengths.add_argument("-bll", "--bone_length_list", default="data/lengths_list.npz", metavar="NAME",
                         help="predicted bone lengths in list format (used when the dict is absent)")
    lengths.add_argument("-bld", "--bone_length_dict", default="data/lengths_dict.npz", metavar="NAME",
                         help="predicted bone lengths in dictionary format")


def add_architecture_arguments(parser: argparse.ArgumentParser) -> None:
    """The shape of the models a checkpoint is loaded into."""
    architecture = parser.add_argument_group("architecture")
    architecture.add_argument("-arc", "--architecture", default="3,3,3,3", type=int_list, metavar="LAYERS",
                              help="filter widths separated by comma")
    architecture.add_argument("-ch", "--channels", default=1024, type=int, metavar="N",
                              help="number of channels in convolution layers")
    architecture.add_argument("-bi", "--bidirectional", action="store_true",
                              help="bidirectional GRU or not (the length model)")


def add_test_time_arguments(parser: argparse.ArgumentParser) -> None:
    """How whole sequences are predicted."""
    test_time = parser.add_argument_group("prediction")
    test_time.add_argument("-no-tta", "--no-test-time-augmentation", dest="test_time_augmentation",
                           action="store_false", help="disable test-time flipping")
    parser.set_defaults(test_time_augmentation=True)


#: The flag groups every pose command (train, evaluate, predict) has, in --help order.
POSE_ARGUMENT_GROUPS = (add_data_arguments, add_checkpoint_arguments, add_bone_length_arguments,
                        add_architecture_arguments, add_test_time_arguments)


def add_pose_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags that pick data, models, bone lengths and prediction (``POSE_ARGUMENT_GROUPS``)."""
    for add_group in POSE_ARGUMENT_GROUPS:
        add_group(parser)


def add_training_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of training only: task, schedule, augmentation, checkpoints written, experiments."""
    settings = parser.add_argument_group("settings")
    settings.add_argument("-t", "--task", default="", metavar="NAME", choices=["length", "lift", "mix"],
                          help="task to train: length, lift or mix")
    settings.add_argument("--recipe", default="upstream", choices=["upstream", "best", "cpu", "camera", "wild"],
                          help="-t length: upstream (the flags as given, upstream's meaning), best, cpu, camera "
                               "or wild (blapose's recipes, see docs/lengths.md; camera: the model reads each "
                               "video's calibrated camera; wild: random phone cameras and MediaPipe-like 2D "
                               "errors, for videos; they set the model, schedule and augmentation; data, -c, "
                               "-bla and --seed flags work as usual)")
    settings.add_argument("--subjects-valid", default="", type=comma_list, metavar="LIST",
                          help="-t length: subjects held out of training (e.g. S8) whose error is printed each "
                               "epoch and picks epoch_best.bin, so that nothing is chosen on the test subjects")
    settings.add_argument("--evaluate", action="store_true",
                          help="evaluate a checkpoint instead of training (the protocols of blapose evaluate)")
    settings.add_argument("--render", action="store_true",
                          help="not supported (refused): blapose predict writes the test videos' poses and "
                               "blapose render draws one of them")
    add_by_subject_argument(settings)
    settings.add_argument("--export", metavar="FILE",
                          help="after training, also write the final model as a small weights-only file "
                               "(float16, with its architecture), e.g. for blapose video")
    settings.add_argument("--export-training-curves", action="store_true",
                          help="save training curves as .png images")
    settings.add_argument("--seed", default=5731, type=int, metavar="N", help="random seed")
    settings.add_argument("--checkpoint-frequency", default=40, type=int, metavar="N",
                          help="create a checkpoint every N epochs")
    settings.add_argument("-r", "--resume", default="", metavar="FILENAME",
                          help="checkpoint to resume training from (name in -c, or a path)")

    augmentation = parser.add_argument_group("bone length augmentation (-t length)")
    augmentation.add_argument("--length_aug_type", default="smpl", metavar="NAME",
                              choices=["smpl", "random_unif", "random_norm_train", "random_norm_all"],
                              help="type of augmentation on bone lengths")
    augmentation.add_argument("-bla", "--bone_length_aug", default="data/bone_lengths_smpl_neutral_all.npz",
                              metavar="NAME", help="bone lengths for augmentation (npz, key 'data', (M, 16) "
                                                   "meters)")

    model = parser.add_argument_group("training")
    model.add_argument("-s", "--stride", default=1, type=int, metavar="N", help="chunk size to use during training")
    model.add_argument("-e", "--epochs", default=60, type=int, metavar="N", help="number of training epochs")
    model.add_argument("-b", "--batch-size", default=1024, type=int, metavar="N", help="batch size")
    model.add_argument("-l", "--chunk_len", default=512, type=int, metavar="N",
                       help="frames per training chunk of the length model")
    model.add_argument("--segment_shift", default=64, type=int, metavar="N",
                       help="frames between the starts of consecutive training chunks")
    model.add_argument("-drop", "--dropout", default=0.25, type=float, metavar="P", help="dropout probability")
    model.add_argument("-lr", "--learning-rate", default=None, type=float, metavar="LR",
                       help="initial learning rate (default: 1e-3 for -t lift as VideoPose3D, 4e-5 for "
                            "-t mix as the BLAPose README, 1e-4 for -t length)")
    model.add_argument("-lrd", "--lr-decay", default=0.95, type=float, metavar="LR",
                       help="learning rate decay per epoch")
    model.add_argument("-no-da", "--no-data-augmentation", dest="data_augmentation", action="store_false",
                       help="disable train-time flipping")
    model.add_argument("--augment", default="none", choices=["none", "wild"],
                       help="-t lift: 'wild' sees every training chunk through a random virtual camera "
                            "with detector-like 2D noise instead of the dataset's cameras and 2D files")
    model.add_argument("--mocap", default="", metavar="pybullet|DIR",
                       help="-t lift --augment wild: also train on real motion capture, the DeepMimic clips "
                            "of the installed pybullet (pip install 'blapose[mocap]') or of a folder laid out "
                            "like pybullet_data (data/motions/humanoid3d_*.txt, humanoid/humanoid.urdf)")
    model.add_argument("--mocap-holdout", default=None, type=comma_list, metavar="LIST",
                       help="clips kept out of training, separated by comma, or none (default: "
                            "walk,dance_b,getup_faceup)")
    model.add_argument("--mocap-share", default=None, type=float, metavar="FRACTION",
                       help="fraction of the training examples that the clips make, by repeating them "
                            "(default 0.3)")
    model.add_argument("-ich", "--in-chans", default=2, type=int,
                       help="number of input channels per joint (only 2, the x and y of 2D keypoints)")
    model.add_argument("-layer", "--num-layers", default=1, type=int, help="number of GRU layers")

    experimental = parser.add_argument_group("experimental")
    experimental.add_argument("--subset", default=1, type=float, metavar="FRACTION",
                              help="reduce dataset size by fraction")
    experimental.add_argument("--no-eval", action="store_true",
                              help="disable epoch evaluation while training (small speed-up)")
    parser.set_defaults(data_augmentation=True)


def add_by_subject_argument(group: argparse._ActionsContainer) -> None:
    """--by-subject of the commands that evaluate a pose model (train --evaluate, evaluate)."""
    group.add_argument("--by-subject", action="store_true",
                       help="break down error by subject (on evaluation): also print each test subject's "
                            "action-wise errors (and write them under 'per_subject' with --json)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The upstream argument set (BLAPose utils/arguments.py) plus --data-dir and -r/--resume."""
    from .device_args import add_device_arguments

    add_training_arguments(parser)
    add_pose_arguments(parser)
    add_device_arguments(parser, nproc=True)


def check_arguments(args: argparse.Namespace) -> None:
    """Refuse flags that are not supported and combinations that cannot work, in one line (``InputError``)."""
    from ..errors import InputError

    if not args.task:
        raise InputError("choose what to train with -t length, -t lift or -t mix")
    if args.render:
        raise InputError("--render is not supported: write the test videos' poses with blapose predict, then "
                         "draw one with blapose render --pred ... --key SUBJECT/ACTION/CAMERA")
    if args.subset != 1:
        raise InputError("--subset is not supported; use -a/--actions or --downsample to train on less")
    if args.in_chans != 2:
        raise InputError(f"-ich/--in-chans {args.in_chans} is not supported: the models read 2D keypoints (-ich 2)")
    if args.by_subject and (not args.evaluate or args.task == "length"):
        raise InputError("--by-subject breaks down the errors of an evaluation: use it with --evaluate -t lift|mix "
                         "(or blapose evaluate)")
    if args.augment != "none" and args.task != "lift":
        raise InputError(f"--augment {args.augment} is for -t lift (it re-projects the training chunks)")
    if args.recipe != "upstream" and args.task != "length":
        raise InputError(f"--recipe {args.recipe} is for -t length")
    if args.subjects_valid and (args.task != "length" or args.evaluate):
        raise InputError("--subjects-valid holds subjects out of length training: use it with -t length")
    if args.export and args.evaluate:
        raise InputError("--export writes the trained model; it does nothing with --evaluate")
    if args.export_training_curves and args.no_eval:
        raise InputError("--export-training-curves and --no-eval cannot be set at the same time")
    for name in ("epochs", "batch_size", "chunk_len", "segment_shift", "stride", "downsample",
                 "checkpoint_frequency", "num_layers"):
        if getattr(args, name) < (0 if name == "epochs" else 1):
            raise InputError(f"--{name.replace('_', '-')} must be positive, got {getattr(args, name)}")
    if not 0.0 <= args.dropout < 1.0:
        raise InputError(f"-drop/--dropout must be in [0, 1), got {args.dropout}")
    if args.mocap and (args.task != "lift" or args.augment != "wild" or args.evaluate):
        raise InputError("--mocap trains the lifting model on motion capture: use it with -t lift --augment wild")
    if args.nproc < 1 or (args.nproc > 1 and args.evaluate):
        raise InputError(f"--nproc must be a positive number of training processes (not with --evaluate), "
                         f"got {args.nproc}")


@dataclass(frozen=True)
class TrainPlan:
    """What ``blapose train`` does: the task's command (``blapose.train.length.config.LengthCommand``
    for -t length, ``blapose.train.pose.inputs.PoseCommand`` for -t lift|mix), the device the process
    group is set up for, the number of processes, and (final checkpoint, weights file) to export."""

    command: Any
    device: str
    nproc: int
    export: tuple[Path, str] | None


def plan(args: argparse.Namespace) -> TrainPlan:
    """The flags checked and mapped onto what the command will do; reads no file."""
    from ..errors import InputError

    check_arguments(args)
    if args.task == "length":
        from ..train.length.config import command_from_args

        command = command_from_args(args)
    else:
        try:
            from ..train.pose.inputs import command_from_args
        except ModuleNotFoundError as error:
            if not (error.name or "").startswith(f"{__package__.rsplit('.', 1)[0]}.train."):
                raise
            raise InputError(f"-t {args.task} needs {error.name}, which this installation lacks") from None
        command = command_from_args(args, "evaluate" if args.evaluate else "train")
    export = (Path(args.checkpoint) / "final.bin", args.export) if args.export else None
    return TrainPlan(command, args.device, args.nproc, export)


def run(args: argparse.Namespace) -> int:
    """With --nproc N start N processes through torchrun, else join torchrun's process group when it
    started this one, and train (or evaluate) as ``plan`` says."""
    settings = plan(args)
    from ..train.distributed import distributed_session, launched_by_torchrun
    from .device_args import relaunch_with_torchrun

    if settings.nproc > 1 and not launched_by_torchrun():
        return relaunch_with_torchrun(settings.nproc)
    with distributed_session(settings.device):
        code = _run_command(settings.command)
    if code == 0 and settings.export:
        export_final_weights(*settings.export)
    return code


def export_final_weights(final_checkpoint: Path, target: str) -> None:
    """--export: ``final_checkpoint`` as a small weights-only file ``target`` (by rank 0 under torchrun)."""
    import os

    from ..models.checkpoint import export_weights

    if os.environ.get("RANK", "0") != "0":
        return
    export_weights(final_checkpoint, target)
    print(f"wrote {target}: the final weights (float16) and architecture, without training state")


def _run_command(command: Any) -> int:
    from ..train.length.config import LengthCommand

    if isinstance(command, LengthCommand):
        from ..train.length import run_command

        return run_command(command)
    if command.action == "evaluate":
        from ..evaluation.commands import evaluate

        return evaluate(command)
    from ..train.pose.commands import run_training

    return run_training(command)
