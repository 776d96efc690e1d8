"""``blapose infer-lengths``: upstream BLAPose ``length_model_inference.py`` with the same flags.

Predicts the bone lengths of every video of the chosen subjects from its 2D keypoints and writes
``data/lengths_dict.npz`` and ``data/lengths_list.npz`` (``*_causal.npz`` with ``--causal``), in the
upstream formats (``blapose.lengths_io``). Only argparse is imported here.
"""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "infer-lengths", help="predict bone lengths of Human3.6M videos with a trained length model",
        description="Bone-length inference (upstream length_model_inference.py). Writes lengths_dict.npz "
                    "and lengths_list.npz into --data-dir.")
    parser.add_argument("-d", "--dataset", default="h36m", metavar="NAME", help="target dataset")
    parser.add_argument("-k", "--keypoints", default="cpn_ft_h36m_dbb", metavar="NAME", help="2D detections to use")
    parser.add_argument("--ckpt", default="epoch_best.bin",
                        help="length-model checkpoint: a name in -c, or a path")
    parser.add_argument("-c", "--checkpoint", default="checkpoint", metavar="PATH", help="checkpoint directory")
    parser.add_argument("--data-dir", default="data", metavar="PATH",
                        help="folder of the input data files and of the outputs")
    parser.add_argument("--subjects", default="S9,S11", help="subjects separated by comma")
    parser.add_argument("-layer", "--num_layers", default=1, type=int,
                        help="number of GRU layers (checked against the checkpoint)")
    parser.add_argument("-bi", "--bidirectional", action="store_true", help="bidirectional GRU or not")
    parser.add_argument("--causal", action="store_true",
                        help="causal inference: one length vector per frame from the frames up to it "
                             "(GRU models only)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..errors import InputError

    if args.bidirectional and args.causal:
        raise InputError("the causal mode only allows GRU models: drop -bi or --causal")
    subjects = tuple(s.strip() for s in args.subjects.split(",") if s.strip())
    if not subjects:
        raise InputError("--subjects names no subject")

    import torch

    from ..data.h36m import load_sequences
    from ..lengths_io import default_output_paths, save_lengths
    from ..models.checkpoint import load_checkpoint, resolve_checkpoint_path
    from ..models.length import length_model_from_checkpoint, predict_lengths
    from ..train.length import mean_length_error, mean_sequence_lengths

    path = resolve_checkpoint_path(args.ckpt, args.checkpoint)
    model = length_model_from_checkpoint(load_checkpoint(path), str(path), bidirectional=args.bidirectional)
    if model.num_layers != args.num_layers:
        raise InputError(f"{path} holds a {model.num_layers}-layer GRU; pass -layer {model.num_layers}")
    model.to(torch.device("cuda" if torch.cuda.is_available() else "cpu"))
    sequences = load_sequences(args.data_dir, args.keypoints, subjects=subjects, dataset=args.dataset)
    print(f"INFO: predicting bone lengths of {len(sequences)} videos of {', '.join(subjects)} with {path}")
    predictions = predict_lengths(model, sequences, causal=args.causal)

    reference = mean_sequence_lengths(sequences)
    per_video = predictions if not args.causal else {k: v[-1] for k, v in predictions.items()}
    print(f"Mean bone length error against the 3D ground truth: "
          f"{mean_length_error(per_video, reference) * 1000:.2f} mm"
          + (" (last frame of each video)" if args.causal else ""))
    dict_path, list_path = default_output_paths(args.data_dir, args.causal)
    save_lengths(predictions, dict_path, list_path, subjects)
    print(f"Wrote {dict_path} and {list_path} ({len(predictions)} videos, "
          f"{'per-frame' if args.causal else 'one'} length vector{'s' if args.causal else ''} "
          f"per video; meters)")
    return 0
