"""``blapose infer-lengths``: upstream BLAPose ``length_model_inference.py`` with the same flags.

Predicts the bone lengths of every video of the chosen subjects from its 2D keypoints and writes
``data/lengths_dict.npz`` and ``data/lengths_list.npz`` (``*_causal.npz`` with ``--causal``), in the
upstream formats (``blapose.lengths.io``). ``--report`` compares them with the ground truth and
with baseline lengths (``blapose.lengths.scoring``). Only argparse is imported here.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from .device_args import add_device_arguments
from .types import comma_list


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "infer-lengths", help="predict bone lengths of Human3.6M videos with a trained length model",
        description="Bone-length inference (upstream length_model_inference.py). Writes lengths_dict.npz "
                    "and lengths_list.npz into --data-dir. If any video gets a length that is not positive, "
                    "nothing is written and the command fails, saying how many videos were refused.")
    parser.add_argument("-d", "--dataset", default="h36m", metavar="NAME", help="target dataset")
    parser.add_argument("-k", "--keypoints", default="cpn_ft_h36m_dbb", metavar="NAME", help="2D detections to use")
    parser.add_argument("--ckpt", default="epoch_best.bin",
                        help="length-model checkpoint: a name in -c, or a path")
    parser.add_argument("-c", "--checkpoint", default="checkpoint", metavar="PATH", help="checkpoint directory")
    parser.add_argument("--data-dir", default="data", metavar="PATH",
                        help="folder of the input data files and of the outputs")
    parser.add_argument("--subjects", default="S9,S11", type=comma_list, help="subjects separated by comma")
    parser.add_argument("-layer", "--num_layers", default=1, type=int,
                        help="number of GRU layers (checked against upstream checkpoints)")
    parser.add_argument("-bi", "--bidirectional", action="store_true", help="bidirectional GRU or not")
    parser.add_argument("--causal", action="store_true",
                        help="causal inference: one length vector per frame from the frames up to it "
                             "(GRU models only)")
    parser.add_argument("--report", action="store_true",
                        help="print the per-bone and mean length errors (mm) on the chosen subjects, split "
                             "into scale and proportion, next to the training subjects' mean, all subjects' "
                             "mean and (with --pred) the lifting model's own median lengths and the geometric "
                             "floor-scale baseline")
    parser.add_argument("--json", metavar="FILE", help="write the --report numbers as JSON (implies --report)")
    parser.add_argument("--pred", metavar="FILE",
                        help="a lifting model's predictions (prediction.pkl with --act, or predictions.npz) "
                             "whose median bone lengths join the report as a baseline")
    parser.add_argument("--act", metavar="FILE", help="action_dict.pkl giving the order of a prediction.pkl")
    parser.add_argument("--subjects-train", default="S1,S5,S6,S7,S8", type=comma_list,
                        help="training subjects whose mean lengths are the report's first baseline")
    add_device_arguments(parser, amp=False)
    parser.set_defaults(run=run)


def _subject_list(subjects: tuple[str, ...], flag: str) -> tuple[str, ...]:
    from ..errors import InputError

    if not subjects:
        raise InputError(f"{flag} names no subject")
    return subjects


@dataclass(frozen=True)
class InferencePlan:
    """What ``blapose infer-lengths`` does: the length model (checkpoint name in ``checkpoint_dir``
    or a path, its GRU layers and direction as the flags give them, the device), the videos
    (data folder, dataset, 2D detections, subjects), causal or not, and the report: ``report`` on
    or off, its JSON file, the lifter's predictions (with their action_dict for a .pkl) and the
    training subjects of its first baseline (empty without a report)."""

    checkpoint: str
    checkpoint_dir: str
    num_layers: int
    bidirectional: bool
    device: str
    data_dir: str
    dataset: str
    keypoints: str
    subjects: tuple[str, ...]
    causal: bool
    report: bool
    json: str | None
    pred: str | None
    act: str | None
    subjects_train: tuple[str, ...]


def plan(args: argparse.Namespace) -> InferencePlan:
    """The flags checked and mapped onto an ``InferencePlan``; reads no file."""
    from ..errors import InputError

    if args.bidirectional and args.causal:
        raise InputError("the causal mode only allows GRU models: drop -bi or --causal")
    report = args.report or args.json is not None or args.pred is not None
    return InferencePlan(
        checkpoint=args.ckpt, checkpoint_dir=args.checkpoint, num_layers=args.num_layers,
        bidirectional=args.bidirectional, device=args.device, data_dir=args.data_dir, dataset=args.dataset,
        keypoints=args.keypoints, subjects=_subject_list(args.subjects, "--subjects"), causal=args.causal,
        report=report, json=args.json, pred=args.pred,
        act=args.act if args.pred is not None and not args.pred.endswith(".npz") else None,
        subjects_train=_subject_list(args.subjects_train, "--subjects-train") if report else ())


def run(args: argparse.Namespace) -> int:
    from ..errors import InputError

    settings = plan(args)
    subjects = settings.subjects

    from ..data.h36m import keypoints_2d_path, load_keypoints_2d, load_poses_3d, poses_3d_path, sequences_from_arrays
    from ..lengths.io import default_output_paths, describe_key, refused_videos, save_lengths
    from ..lengths.reference import true_lengths
    from ..lengths.scoring import length_errors
    from ..models.checkpoint import load_checkpoint, resolve_checkpoint_path
    from ..models.length import length_model_from_checkpoint, predict_lengths
    from ..train.device import resolve_device

    path = resolve_checkpoint_path(settings.checkpoint, settings.checkpoint_dir)
    checkpoint = load_checkpoint(path)
    model = length_model_from_checkpoint(checkpoint, str(path), bidirectional=settings.bidirectional)
    if "architecture" not in checkpoint and model.num_layers != settings.num_layers:
        raise InputError(f"{path} holds a {model.num_layers}-layer GRU; pass -layer {model.num_layers}")
    if settings.causal and model.bidirectional:
        raise InputError(f"{path} holds a bidirectional length model, which cannot run causally")
    model.to(resolve_device(settings.device))
    path_3d = poses_3d_path(settings.data_dir, settings.dataset)
    path_2d = keypoints_2d_path(settings.data_dir, settings.keypoints, settings.dataset)
    poses_3d = load_poses_3d(path_3d)
    sequences = sequences_from_arrays(poses_3d, load_keypoints_2d(path_2d)[0], subjects, path_3d, path_2d)
    print(f"INFO: predicting bone lengths of {len(sequences)} videos of {', '.join(subjects)} with {path}")
    predictions = predict_lengths(model, sequences, causal=settings.causal, progress=True)

    refused = refused_videos(predictions)
    if refused:
        key, problem = next(iter(refused.items()))
        raise InputError(f"refused the lengths of {len(refused)} of {len(predictions)} videos: the model predicted "
                         f"non-positive lengths (first: {describe_key(key)}, {problem}); nothing written")
    truth = true_lengths(sequences)
    if settings.report:
        _report(settings, predictions, truth, poses_3d, path_3d, sequences)
    else:
        print(f"Mean bone length error against the 3D ground truth: "
              f"{length_errors(predictions, truth).mean * 1000:.2f} mm"
              + (" (averaged over the frames of each video)" if settings.causal else ""))
    dict_path, list_path = default_output_paths(settings.data_dir, settings.causal)
    save_lengths(predictions, dict_path, list_path, subjects)
    print(f"Wrote {dict_path} and {list_path} ({len(predictions)} videos, "
          f"{'per-frame' if settings.causal else 'one'} length vector{'s' if settings.causal else ''} "
          f"per video; meters)")
    return 0


def _report(settings: InferencePlan, predictions: dict, truth: dict, poses_3d: dict, path_3d: object,
            sequences: list) -> None:
    """Print (and with --json write) the learned lengths' errors next to the baselines'."""
    from ..errors import InputError
    from ..lengths.reference import median_lengths, subject_mean_baselines
    from ..lengths.scoring import format_length_table, length_errors, write_length_report_json

    means = subject_mean_baselines(poses_3d, settings.subjects_train)
    summaries = {"learned": length_errors(predictions, truth, "learned lengths"),
                 "train mean": length_errors({key: means["train"] for key in truth}, truth),
                 "all mean": length_errors({key: means["all"] for key in truth}, truth)}
    if settings.pred is not None:
        from ..data.predictions import read_predictions

        poses = read_predictions(settings.pred, settings.act)
        missing = [key for key in truth if key not in poses]
        if missing:
            raise InputError(f"{settings.pred}: no predictions for {len(missing)} of the {len(truth)} videos of "
                             f"--subjects, e.g. {missing[0]}")
        summaries["lifter median"] = length_errors({key: median_lengths(poses[key]) for key in truth}, truth,
                                                   str(settings.pred))
        summaries["floor scale"] = length_errors(_floor_scale(settings, poses, poses_3d, sequences, means["train"]),
                                                 truth, "floor scale")
    print(format_length_table(summaries))
    print(f"({len(truth)} videos of {','.join(settings.subjects)} against the ground truth of {path_3d}, "
          f"averaged over frames; "
          f"'all mean' includes the test subjects; scale + proportion = mean; size error = mean |s - 1|"
          + ("; 'floor scale': the lifter's poses with the training mean's lengths, scaled per video to fit the "
             "2D standing on the floor of the calibrated camera, no learning)" if settings.pred is not None else
             "; --pred adds the lifter's own lengths and the geometric floor-scale baseline)"))
    if settings.json is not None:
        write_length_report_json(settings.json, summaries, subjects=list(settings.subjects),
                                 causal=settings.causal, videos=len(truth))
        print(f"Wrote {settings.json}")


def _floor_scale(settings: InferencePlan, poses: dict, poses_3d: dict, sequences: list, mean: object) -> dict:
    """The geometric baseline's lengths per video (``blapose.lengths.floor_scale``): the lifter's poses resized to the
    training mean, ankles standing as high as the training subjects' do."""
    from ..geometry.floor import standing_ankle_height
    from ..lengths.floor_scale import floor_scale_baseline

    ankle = standing_ankle_height(motion for subject in settings.subjects_train
                                  for motion in poses_3d.get(subject, {}).values())
    return floor_scale_baseline(poses, sequences, mean, ankle)
