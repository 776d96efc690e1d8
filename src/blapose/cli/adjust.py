"""``blapose adjust``: upstream bone_adjust.py — adjust a lifting model's poses and evaluate."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "adjust", help="adjust predicted 3D poses with new bone lengths and evaluate (bone_adjust.py)",
        description="Keep the bone directions of a lifting model's predictions, replace the bone lengths "
                    "and report errors before and after, action-wise, in millimetres.")
    parser.add_argument("--act", default="3D_prediction/action_dict.pkl",
                        help="action_dict.pkl giving the order of a .pkl prediction list")
    parser.add_argument("--pred", default="3D_prediction/prediction.pkl",
                        help="predictions: upstream prediction.pkl or blapose predictions .npz")
    parser.add_argument("--gt", default="data/data_3d_h36m.npz", help="ground-truth 3D poses")
    parser.add_argument("--bone", default="data/lengths_dict.npz", help="lengths_dict.npz to adjust with")
    parser.add_argument("--print-action", "--print_action", dest="print_action", action="store_true",
                        help="print the errors of each action class")
    parser.add_argument("--causal", action="store_true", help="lengths are per frame (infer-lengths --causal)")
    parser.add_argument("--csv", help="write the action-wise table as CSV")
    parser.add_argument("--json", help="write the report as JSON (millimetres)")
    parser.add_argument("--out", help="write the adjusted poses as a blapose predictions .npz")
    parser.set_defaults(run=run)


def plan(args: argparse.Namespace) -> dict:
    """The files to read (``action_dict`` None for a .npz of predictions, which needs none), the
    lengths' kind, what to print and the files to write; ``run`` uses only these."""
    return {"predictions": args.pred, "lengths": args.bone, "ground_truth": args.gt,
            "action_dict": None if args.pred.endswith(".npz") else args.act, "causal": args.causal,
            "print_action": args.print_action, "csv": args.csv, "json": args.json, "out": args.out}


def run(args: argparse.Namespace) -> int:
    from ..data.predictions import write_predictions_npz
    from ..evaluation.adjust import adjust_files
    from ..evaluation.report import format_report, write_csv, write_json
    from ..memory import keep_freed_memory

    settings = plan(args)
    keep_freed_memory()  # the evaluation's batch temporaries reuse freed heap instead of new pages
    report, adjusted = adjust_files(settings["predictions"], settings["lengths"], settings["ground_truth"],
                                    settings["action_dict"], causal=settings["causal"],
                                    keep_adjusted=settings["out"] is not None)
    print(format_report(report, print_action=settings["print_action"]))
    if settings["csv"]:
        write_csv(settings["csv"], report)
    if settings["json"]:
        write_json(settings["json"], report)
    if settings["out"]:
        write_predictions_npz(settings["out"], adjusted)
    return 0
