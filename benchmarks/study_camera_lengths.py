"""Camera-aware bone-length models, chosen on a validation subject and tested once.

Two steps, so that nothing is chosen on the test subjects:

1. ``--stage valid``: every variant trains on S1, S5, S6, S7 with the synthetic table shifted to
   *their* mean, and is measured after every epoch on S8's detected 2D (the validation subject).
   Next to it, on S8: the training subjects' mean and the geometric baseline
   (``blapose.lengths.floor_scale``) with the true bone directions resized to the mean (the best that
   the floor and the camera give with the mean's proportions). Writes ``<out>/valid_<variant>.json``.
2. ``--stage test --variant NAME --epochs N``: the chosen variant trains on all five training
   subjects (table shifted to their mean) for the chosen epochs and is measured once on S9 and
   S11, next to the training mean and the geometric baseline; with ``--pred`` (a lifter's
   predictions.npz of the test subjects, e.g. from ``blapose predict``) the baseline uses the
   lifter's poses, else the true directions. Writes ``<out>/test_<variant>.json``.

    python benchmarks/study_camera_lengths.py --data DIR --table DIR/bone_lengths_anny_neutral_train.npz \\
        --out study_camera --stage valid [--variants cpu,camera,...] [--epochs 12] [--jobs 2]
    python benchmarks/study_camera_lengths.py ... --stage test --variant camera --epochs 12 [--pred P.npz]
    python benchmarks/study_camera_lengths.py ... --report      # the markdown tables from the JSON files

Errors are meters in the JSON files and millimetres in the tables; each job uses one torch thread.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import time
from pathlib import Path

from blapose.cli.types import comma_list

TRAIN = ("S1", "S5", "S6", "S7")
VALID = ("S8",)
TEST = ("S9", "S11")
#: Simulated 2D detector error, normalised units (about 4 px at 1000 px), as in study_lengths.py.
NOISE = 0.008

#: Settings every variant shares: the 'cpu' recipe's model and schedule.
BASE = dict(temporal="pool", bidirectional=False, bone_inputs=True, log_output=True, embed_dim=64,
            hidden_size=128, num_layers=1, dropout=0.0, chunk_len=64, segment_shift=32, batch_size=64,
            learning_rate=1e-3, lr_decay=0.95, floor_augmentation=True, evaluate_each_epoch=False)
CAMERA = dict(camera_inputs=True, proportions_only=True)

#: Variant -> (what it tests, settings on top of BASE). Epochs come from --epochs, except for
#: the dataset-camera variants, which see four cameras per take and get a quarter of them (equal steps).
VARIANTS = {
    "cpu": ("recipe cpu: 2D bones, proportions only, the dataset's cameras", dict(proportions_only=True)),
    "studio_2d": ("2D bones, size and proportions, random studio cameras, 2D noise (no camera input)",
                  dict(studio_views=True, keypoint_noise=NOISE)),
    "camera_own": ("camera input, the dataset's own cameras, 2D noise", dict(CAMERA, keypoint_noise=NOISE)),
    "camera_exact": ("camera input, random studio cameras, exact 2D", dict(CAMERA, studio_views=True)),
    "camera_noise1": ("camera input, random studio cameras, 2D noise",
                      dict(CAMERA, studio_views=True, keypoint_noise=NOISE)),
    "camera_noise2": ("camera input, random studio cameras, twice the 2D noise",
                      dict(CAMERA, studio_views=True, keypoint_noise=2 * NOISE)),
    "camera": ("recipe camera: camera input, random studio cameras, half the 2D noise",
               dict(CAMERA, studio_views=True, keypoint_noise=NOISE / 2)),
    "camera_slow": ("camera_noise1 at half the learning rate",
                    dict(CAMERA, studio_views=True, keypoint_noise=NOISE, learning_rate=5e-4)),
}


def aligned_table(table_path: str, data: str, subjects: tuple[str, ...], out: Path) -> str:
    """The table shifted to the mean of ``subjects`` (written to ``out``), as synth-lengths --align does."""
    from blapose.data.h36m import load_sequences
    from blapose.lengths.reference import training_mean_lengths
    from blapose.lengths.synthetic.align import shift_to_mean
    from blapose.lengths.synthetic.files import write_lengths
    from blapose.train.length.config import load_length_table

    mean = training_mean_lengths(load_sequences(data, "cpn_ft_h36m_dbb", subjects))
    path = out / f"table_{'_'.join(subjects)}.npz"
    write_lengths(path, shift_to_mean(load_length_table(table_path), mean))
    return str(path)


def split(summary) -> dict[str, float]:
    return {"total": summary.mean, "scale": summary.scale, "proportion": summary.proportion, "size": summary.size}


def baselines(data: str, train: tuple[str, ...], evaluated: tuple[str, ...], pred: str = "") -> dict:
    """The training mean and the geometric baseline on ``evaluated``'s detected 2D (meters)."""
    from blapose.data.h36m import load_sequences
    from blapose.geometry.floor import standing_ankle_height
    from blapose.lengths.floor_scale import floor_scale_baseline
    from blapose.lengths.reference import training_mean_lengths, true_lengths
    from blapose.lengths.scoring import length_errors

    train_sequences = load_sequences(data, "cpn_ft_h36m_dbb", train)
    sequences = load_sequences(data, "cpn_ft_h36m_dbb", evaluated)
    truth, mean = true_lengths(sequences), training_mean_lengths(train_sequences)
    ankle = standing_ankle_height(s.camera.camera_to_world(s.poses_3d) for s in train_sequences)
    if pred:
        from blapose.data.predictions import read_predictions

        poses = read_predictions(pred, None)
    else:
        poses = {s.key: s.poses_root_relative for s in sequences}
    geometric = floor_scale_baseline(poses, sequences, mean, ankle)
    return {"mean": split(length_errors({key: mean for key in truth}, truth)),
            "geometric": split(length_errors(geometric, truth)),
            "geometric_poses": "lifter" if pred else "true directions"}


def train_and_measure(name: str, data: str, table: str, epochs: int, out: str, train: tuple[str, ...],
                      evaluated: tuple[str, ...], stage: str) -> dict:
    """Train one variant on ``train``; measure it on ``evaluated`` (each epoch in the valid stage)."""
    import torch

    from blapose.data.h36m import load_sequences
    from blapose.lengths.reference import true_lengths
    from blapose.lengths.scoring import length_errors
    from blapose.models.length import predict_lengths
    from blapose.train.length import fit
    from blapose.train.length.config import length_config

    torch.set_num_threads(1)
    settings = dict(BASE, **VARIANTS[name][1])
    if not settings.get("studio_views"):
        epochs = max(1, epochs // 4)  # four cameras per take: as many steps as the studio variants
    valid = evaluated if stage == "valid" else ()
    config = length_config(data_dir=data, bone_length_aug=table, epochs=epochs, progress=False,
                           subjects_train=train + valid, subjects_valid=valid, subjects_test=TEST,
                           checkpoint_dir=str(Path(out) / f"ck_{stage}_{name}"), recipe=f"study:{name}",
                           seed=0, **settings)
    started = time.perf_counter()
    result = fit(config)
    seconds = time.perf_counter() - started
    sequences = load_sequences(data, "cpn_ft_h36m_dbb", evaluated)
    measured = {"name": name, "what": VARIANTS[name][0], "stage": stage, "epochs": epochs, "seconds": seconds,
                "settings": settings, "curve": result.history.valid, "train_curve": result.history.train,
                "learned": split(length_errors(predict_lengths(result.model, sequences), true_lengths(sequences)))}
    Path(out, f"{stage}_{name}.json").write_text(json.dumps(measured, indent=1))
    print(f"{stage} {name}: {measured['learned']['total'] * 1000:.2f} mm on {','.join(evaluated)}, "
          f"{seconds / 60:.1f} min", flush=True)
    return measured


def markdown(results: list[dict], reference: dict, evaluated: str) -> str:
    """One table (mm): each variant's error on ``evaluated``, with the baselines' rows."""
    mm = 1000.0
    lines = [f"| lengths | {evaluated}: total | scale | proportion | size error | x mean | epochs | train min |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    base = reference["mean"]["total"]

    def row(label: str, e: dict, epochs: str = "", minutes: str = "") -> str:
        return (f"| {label} | {e['total'] * mm:.1f} | {e['scale'] * mm:.1f} | {e['proportion'] * mm:.1f} "
                f"| {e['size'] * 100:.1f} % | {e['total'] / base:.2f} | {epochs} | {minutes} |")
    for r in results:
        lines.append(row(f"{r['name']}: {r['what']}", r["learned"], str(r["epochs"]), f"{r['seconds'] / 60:.1f}"))
    lines.append(row("training subjects' mean", reference["mean"]))
    lines.append(row(f"geometric baseline ({reference['geometric_poses']}, mean proportions)",
                     reference["geometric"]))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data")
    parser.add_argument("--table", required=True, help="synthetic lengths (npz); shifted to each stage's training mean")
    parser.add_argument("--out", default="study_camera")
    parser.add_argument("--stage", choices=["valid", "test"], default="valid")
    parser.add_argument("--variants", default=",".join(VARIANTS), type=comma_list,
                        help="valid stage: variants to train")
    parser.add_argument("--variant", default="camera", help="test stage: the variant chosen on the validation subject")
    parser.add_argument("--epochs", type=int, default=12, help="epochs of the studio-camera variants")
    parser.add_argument("--pred", default="", help="test stage: a lifter's predictions.npz of S9 and S11")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--report", action="store_true", help="train nothing: tabulate the JSON files")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    train = TRAIN if args.stage == "valid" else TRAIN + VALID
    evaluated = VALID if args.stage == "valid" else TEST
    names = list(args.variants) if args.stage == "valid" else [args.variant]
    reference_path = out / f"{args.stage}_baselines.json"
    if args.report:
        results = [json.loads((out / f"{args.stage}_{n}.json").read_text()) for n in names
                   if (out / f"{args.stage}_{n}.json").is_file()]
        reference = json.loads(reference_path.read_text())
    else:
        table = aligned_table(args.table, args.data, train, out)
        jobs = [(n, args.data, table, args.epochs, str(out), train, evaluated, args.stage) for n in names]
        with multiprocessing.get_context("spawn").Pool(args.jobs) as pool:
            pending = pool.starmap_async(train_and_measure, jobs)
            reference = baselines(args.data, train, evaluated, args.pred)
            results = pending.get()
        reference_path.write_text(json.dumps(reference, indent=1))
    table = markdown(results, reference, ",".join(evaluated))
    (out / f"{args.stage}.md").write_text(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
