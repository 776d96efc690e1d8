"""Study of the bone-length model: upstream's augmentation against variants at equal training budget.

Every variant trains the same small bidirectional GRU (the CPU recipe's size) for the same number
of epochs on the same data and synthetic-length table, then reports:
- its learning curve: mean length error on the augmented training bodies (the training loss) and
  on the test subjects' detected 2D, per epoch;
- the final test error split into scale and proportion (``blapose.lengths.scoring``), with the
  whole video as context and with one training-length chunk only;
- the table's own spread (mean absolute deviation of the table from its mean) next to the
  augmented-training error: a model at the spread has learned only the table's mean;
- the training subjects' mean lengths as the baseline on the test subjects.

    python benchmarks/study_lengths.py --data DIR --table DIR/bone_lengths_anny_neutral_train.npz \\
        --table-mix DIR/mix/bone_lengths_anny_mix_train.npz --out study [--epochs 3] [--jobs 2] [--variants ...]

Writes ``<out>/<variant>.json`` per variant, ``<out>/study.md`` (the table) and
``<out>/curves.png``. Each job uses one torch thread.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import time
from pathlib import Path

import numpy as np

from blapose.cli.types import comma_list

#: Settings every variant shares (the CPU recipe's model and batches).
BASE = dict(bidirectional=True, embed_dim=64, hidden_size=128, chunk_len=64, segment_shift=32,
            batch_size=64, dropout=0.0, learning_rate=1e-3, lr_decay=0.95, seed=0)

#: The pooled model's settings (per-frame features averaged over time instead of the GRU).
POOL = dict(temporal="pool", log_output=True, bone_inputs=True)
#: Simulated 2D detector error, normalised units (2 / image width per pixel): about 4 px at 1000 px.
NOISE = 0.008

#: Variant name -> (what it tests, settings that differ from BASE).
VARIANTS = {
    "upstream": ("upstream augmentation (offset N(0, 0.5 m) on every axis, root trajectory kept)", {}),
    "upstream_lr": ("as upstream, upstream's learning rate 1e-4", dict(learning_rate=1e-4)),
    "floor": ("(a) feet re-seated on the floor, offsets in the floor plane", dict(floor_augmentation=True)),
    "floor_log": ("(a)+(b) floor, log-scale and log-proportion head",
                  dict(floor_augmentation=True, log_output=True)),
    "log": ("(b) log-scale and log-proportion head, upstream augmentation", dict(log_output=True)),
    "oracle": ("(f) oracle: floor, no offset, camera 0 only (noiseless 2D)",
               dict(floor_augmentation=True, root_offset_std=0.0, cameras=(0,))),
    "oracle_log": ("(f)+(b) oracle with the log head",
                   dict(floor_augmentation=True, root_offset_std=0.0, cameras=(0,), log_output=True)),
    "oracle_log_bones": ("(f)+(b) oracle, log head, root + magnified 2D bones as input",
                         dict(floor_augmentation=True, root_offset_std=0.0, cameras=(0,), log_output=True,
                              bone_inputs=True)),
    "floor_log_bones": ("(a)+(b) floor, log head, root + magnified 2D bones as input",
                        dict(floor_augmentation=True, log_output=True, bone_inputs=True)),
    "upstream_bones": ("upstream augmentation, root + magnified 2D bones as input", dict(bone_inputs=True)),
    "pool_oracle": ("(f) oracle, pooled per-frame features, log head, bone inputs",
                    dict(POOL, floor_augmentation=True, root_offset_std=0.0, cameras=(0,))),
    "pool_upstream": ("upstream augmentation, pooled per-frame features, log head, bone inputs", dict(POOL)),
    "pool_floor": ("(a) floor, pooled per-frame features, log head, bone inputs",
                   dict(POOL, floor_augmentation=True)),
    "pool_floor_noise": ("(a) floor, pooled, log head, bone inputs, simulated 2D detector errors",
                         dict(POOL, floor_augmentation=True, keypoint_noise=NOISE)),
    "pool_floor_prop": ("(a)+(b) floor, pooled, proportions only: size kept at the table's mean",
                        dict(POOL, floor_augmentation=True, proportions_only=True)),
    "pool_floor_noise_mix": ("(a)+(e) as pool_floor_noise, bodies of Anny's male/female mix (--table-mix)",
                             dict(POOL, floor_augmentation=True, keypoint_noise=NOISE)),
}


#: The variants of docs/lengths.md, in the order of its table.
STUDY = ("upstream", "floor", "floor_log", "oracle", "pool_upstream", "pool_floor", "pool_floor_noise",
         "pool_oracle", "pool_floor_prop", "pool_floor_noise_mix")


def table_spread(table: np.ndarray) -> float:
    """Mean absolute deviation (meters) of a bone-length table (M, 16) from its mean row."""
    return float(np.abs(table - table.mean(axis=0)).mean())


def table_proportion_spread(table: np.ndarray) -> float:
    """The table's spread once the mean row is scaled to each row's size (meters): what proportions alone vary."""
    mean = table.mean(axis=0)
    rows = {("table", str(i), 0): row for i, row in enumerate(table)}
    return scale_proportion_errors({key: mean for key in rows}, rows)["proportion"]


def scale_proportion_errors(predicted: dict, truth: dict) -> dict[str, float]:
    """Mean length error (m) and its scale and proportion parts (``blapose.lengths.scoring``)."""
    from blapose.lengths.scoring import length_errors

    summary = length_errors(predicted, truth)
    return {"total": summary.mean, "scale": summary.scale, "proportion": summary.proportion}


def run_variant(name: str, data: str, table: str, epochs: int, out: str) -> dict:
    """Train one variant and measure it; the result (meters) is also written to ``<out>/<name>.json``."""
    import torch

    from blapose.lengths.reference import training_mean_lengths, true_lengths
    from blapose.models.length import predict_lengths
    from blapose.train.length import fit
    from blapose.train.length.config import length_config, load_length_table, load_training_sequences, with_settings

    torch.set_num_threads(1)
    settings = dict(BASE, **VARIANTS[name][1])
    if settings.get("cameras"):  # equal budget: as many optimiser steps as a variant seeing all 4 cameras
        epochs = epochs * 4 // len(settings["cameras"])
    config = length_config(data_dir=data, bone_length_aug=table, epochs=epochs, progress=False,
                           checkpoint_dir=str(Path(out) / f"ck_{name}"), recipe=f"study:{name}", **settings)
    started = time.perf_counter()
    result = fit(config)
    seconds = time.perf_counter() - started
    test = load_training_sequences(with_settings(config, cameras=None), config.data.subjects_test)
    train = load_training_sequences(with_settings(config, cameras=None), config.data.subjects_train)
    truth = true_lengths(test, np.float32)
    whole = predict_lengths(result.model, test)
    one_chunk = predict_lengths(result.model, {s.key: s.keypoints_2d[:config.schedule.chunk_len] for s in test})
    exact_2d = predict_lengths(result.model, load_training_sequences(
        with_settings(config, cameras=None, keypoints="gt"), config.data.subjects_test))
    mean = training_mean_lengths(train)
    measured = {
        "name": name, "what": VARIANTS[name][0], "epochs": epochs, "seconds": seconds,
        "settings": {k: v for k, v in settings.items()},
        "table_spread": table_spread(load_length_table(table)),
        "table_proportion_spread": table_proportion_spread(load_length_table(table)),
        "train_curve": result.history.train, "test_curve": result.history.valid,
        "test": scale_proportion_errors(whole, truth),
        "test_one_chunk": scale_proportion_errors(one_chunk, truth),
        "test_exact_2d": scale_proportion_errors(exact_2d, truth),
        "mean_baseline": scale_proportion_errors({k: mean for k in truth}, truth),
    }
    Path(out, f"{name}.json").write_text(json.dumps(measured, indent=1))
    print(f"{name}: test {measured['test']['total'] * 1000:.2f} mm, augmented training bodies "
          f"{result.history.train[-1] * 1000:.2f} mm, {seconds / 60:.1f} min", flush=True)
    return measured


def markdown_table(results: list[dict]) -> str:
    """The study table in millimetres."""
    mm = 1000.0
    lines = ["| variant | augmented training bodies (last epoch) | table spread (proportions only) "
             "| test: total | scale | proportion "
             "| test, one 64-frame chunk | test, exact 2D | train min |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in results:
        t, c, e = r["test"], r["test_one_chunk"], r["test_exact_2d"]
        t = dict(t, scale=t["total"] - t["proportion"])  # scale = total - proportion (blapose.lengths.scoring)
        spread = f"{r['table_spread'] * mm:.1f} ({r['table_proportion_spread'] * mm:.1f})"
        lines.append(f"| {r['name']}: {r['what']} | {r['train_curve'][-1] * mm:.1f} | {spread} "
                     f"| {t['total'] * mm:.1f} | {t['scale'] * mm:.1f} | {t['proportion'] * mm:.1f} "
                     f"| {c['total'] * mm:.1f} | {e['total'] * mm:.1f} | {r['seconds'] / 60:.1f} |")
    b = results[0]["mean_baseline"]
    b = dict(b, scale=b["total"] - b["proportion"])
    lines.append(f"| training subjects' mean (baseline) | | | {b['total'] * mm:.1f} | {b['scale'] * mm:.1f} "
                 f"| {b['proportion'] * mm:.1f} | | | |")
    return "\n".join(lines)


def plot_curves(results: list[dict], path: Path) -> None:
    """Learning curves (mm): augmented training bodies (solid) and test detected 2D (dashed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=False)
    for index, r in enumerate(results):
        color = f"C{index}"
        epochs = np.arange(1, len(r["train_curve"]) + 1)
        axes[0].plot(epochs, np.array(r["train_curve"]) * 1000, color=color, label=r["name"])
        axes[1].plot(epochs[-len(r["test_curve"]):], np.array(r["test_curve"]) * 1000, "--", color=color,
                     label=r["name"])
    axes[0].axhline(results[0]["table_spread"] * 1000, color="k", lw=0.8, label="table spread")
    axes[1].axhline(results[0]["mean_baseline"]["total"] * 1000, color="k", lw=0.8, label="training mean")
    axes[0].set_title("augmented training bodies")
    axes[1].set_title("test subjects, detected 2D (axis cut at 30 mm)")
    axes[1].set_ylim(0, 30)
    for axis in axes:
        axis.set_xlabel("epoch")
        axis.set_ylabel("mean bone-length error (mm)")
        axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data", help="folder of the built-in data files")
    parser.add_argument("--table", required=True, help="synthetic lengths aligned to the training mean (npz)")
    parser.add_argument("--table-mix", default="", help="table for floor_log_mix (e.g. --gender mix)")
    parser.add_argument("--out", default="study")
    parser.add_argument("--epochs", type=int, default=3, help="epochs over all four cameras' videos")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--variants", default=",".join(STUDY), type=comma_list)
    parser.add_argument("--report", action="store_true",
                        help="train nothing: tabulate the <out>/<variant>.json files already there")
    args = parser.parse_args()
    Path(args.out).mkdir(parents=True, exist_ok=True)
    names = list(args.variants)
    if args.report:
        results = [json.loads(Path(args.out, f"{n}.json").read_text()) for n in names
                   if Path(args.out, f"{n}.json").is_file()]
        from blapose.train.length.config import load_length_table

        for r in results:  # spreads of the table each variant trained on
            table = load_length_table(args.table_mix if r["name"].endswith("_mix") else args.table)
            r["table_spread"], r["table_proportion_spread"] = table_spread(table), table_proportion_spread(table)
    else:
        jobs = [(n, args.data, args.table_mix if n.endswith("_mix") else args.table, args.epochs, args.out)
                for n in names]
        with multiprocessing.get_context("spawn").Pool(args.jobs) as pool:
            results = pool.starmap(run_variant, jobs)
    table = markdown_table(results)
    Path(args.out, "study.md").write_text(table + "\n")
    plot_curves(results, Path(args.out, "curves.png"))
    print(table)


if __name__ == "__main__":
    main()
