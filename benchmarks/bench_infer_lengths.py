"""Bone-length inference speed: frames per second of causal and non-causal `infer-lengths`.

Runs ``blapose.models.length.predict_lengths`` on the test videos (S9, S11) of the full built-in
dataset (Human3.6M-sized: about 550,000 frames in 240 videos; ``blapose make-data --size full``),
with a model of the published size (embedding 256, GRU hidden 512, one layer: upstream
utils/model_length.py defaults): a unidirectional GRU for causal and non-causal inference, a
bidirectional one for non-causal. Weights are random (seeded): speed does not depend on them.

The upstream stand-in is a per-frame loop like upstream BLAPose length_model_inference.py's causal
branch (hs1ang-hsu/BLAPose): one video at a time, the model called on one frame with the carried
GRU states, left/right lengths averaged bone pair by bone pair, each frame's lengths copied to
numpy. It runs on the first ``--upstream-frames`` frames of a few videos (it is slow), and its
lengths are compared with the batched ones. With ``--upstream DIR`` (a checkout of
hs1ang-hsu/BLAPose) the loop runs upstream's own ``utils/model_length.py`` BoneLengthModel, loaded
with the same weights and called as its causal inference calls it (zeroed initial states, the
returned states fed back). Prints frames per second of each and the ratio.

    python benchmarks/bench_infer_lengths.py [--data data_full] [--threads 2] [--max-batch 16,64]
        [--upstream DIR]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

from blapose.cli.types import int_list
from blapose.data.h36m import TEST_SUBJECTS, load_sequences
from blapose.data.synthetic import make_dataset
from blapose.models.length import BoneLengthModel, predict_lengths
from blapose.skeleton import H36M


def upstream_style_causal(model: BoneLengthModel, keypoints: np.ndarray) -> np.ndarray:
    """Per-frame lengths (T, 16) of one video, one model call per frame (the upstream stand-in)."""
    inputs = torch.from_numpy(keypoints[None])
    state, per_frame = None, []
    with torch.no_grad():
        for frame in range(inputs.shape[1]):
            lengths, state = model.step(inputs[:, frame:frame + 1], state)
            lengths = lengths[:, 0].clone()
            for right, left in H36M.symmetric_bones:
                lengths[:, [right, left]] = lengths[:, [right, left]].mean(dim=1)[:, None]
            per_frame.append(lengths[0].cpu().numpy())
    return np.array(per_frame)


def upstream_model_causal(model: torch.nn.Module, keypoints: np.ndarray) -> np.ndarray:
    """Per-frame lengths (T, 16) of one video by upstream's BoneLengthModel, one call per frame:
    zeroed initial states from its init_hidden, the returned last-layer states fed back."""
    inputs = torch.from_numpy(keypoints[None])
    per_frame = []
    with torch.no_grad():
        state = [model.init_hidden(1), model.init_hidden(1)]
        for frame in range(inputs.shape[1]):
            lengths, state = model(inputs[:, frame:frame + 1], state, causal=True)
            for right, left in H36M.symmetric_bones:
                lengths[:, [right, left]] = lengths[:, [right, left]].mean(dim=1)[:, None]
            per_frame.append(lengths[0].cpu().numpy())
            state = [final.unsqueeze(1) for final in state]
    return np.array(per_frame)


def upstream_model(checkout: Path, weights: dict) -> torch.nn.Module:
    """Upstream's unidirectional one-layer BoneLengthModel from ``checkout``, holding ``weights``."""
    sys.path.insert(0, str(checkout))
    from utils.model_length import BoneLengthModel as UpstreamModel

    model = UpstreamModel(H36M.num_joints, 2, num_layers=1, dropout=0, bidirectional=False)
    model.load_state_dict(weights)
    return model.eval()


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data_full", help="folder of the full built-in dataset (built if absent)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--max-batch", default="64", type=int_list, help="videos per batch to try, comma separated")
    parser.add_argument("--videos", type=int, default=0, help="use only the first N test videos (0: all)")
    parser.add_argument("--upstream-videos", type=int, default=3, help="videos for the upstream stand-in")
    parser.add_argument("--upstream-frames", type=int, default=400, help="frames of each of those videos")
    parser.add_argument("--skip-non-causal", action="store_true", help="time causal inference only")
    parser.add_argument("--upstream", type=Path, metavar="DIR",
                        help="checkout of hs1ang-hsu/BLAPose: run its own model class in the per-frame loop")
    args = parser.parse_args()
    if args.upstream and not (args.upstream / "utils" / "model_length.py").is_file():
        parser.error(f"{args.upstream}: no utils/model_length.py there")
    torch.set_num_threads(args.threads)

    if not (Path(args.data) / "data_3d_h36m.npz").is_file():
        print(f"building the full built-in dataset in {args.data} ...", flush=True)
        make_dataset(args.data, seed=0, size="full")
    sequences = load_sequences(args.data, "cpn_ft_h36m_dbb", TEST_SUBJECTS)
    if args.videos:
        sequences = sequences[:args.videos]
    videos = {s.key: s.keypoints_2d for s in sequences}
    frames = sum(len(k) for k in videos.values())
    print(f"{len(videos)} videos, {frames} frames ({', '.join(TEST_SUBJECTS)} of {args.data}); "
          f"{args.threads} torch threads; model: embedding 256, hidden 512, 1 layer")

    torch.manual_seed(0)
    gru = BoneLengthModel(dropout=0.0).eval()
    bigru = BoneLengthModel(dropout=0.0, bidirectional=True).eval()

    subset = {key: videos[key][:args.upstream_frames] for key in list(videos)[:args.upstream_videos]}
    subset_frames = sum(len(k) for k in subset.values())
    if args.upstream:
        model, per_frame, label = upstream_model(args.upstream, gru.state_dict()), upstream_model_causal, "upstream"
    else:
        model, per_frame, label = gru, upstream_style_causal, "upstream stand-in"
    start = time.perf_counter()
    reference = {key: per_frame(model, keypoints) for key, keypoints in subset.items()}
    upstream_fps = subset_frames / (time.perf_counter() - start)
    print(f"{label}, causal, one call per frame: {upstream_fps:,.0f} frames/s "
          f"({subset_frames} frames of {len(subset)} videos)")
    batched_subset = predict_lengths(gru, subset, causal=True)
    difference = max(float(np.abs(batched_subset[key] - reference[key]).max()) for key in subset)
    print(f"  batched causal lengths differ from the {label}'s by at most {difference:.2e} m")

    for max_batch in args.max_batch:
        _, seconds = timed(predict_lengths, gru, videos, causal=True, max_batch=max_batch)
        print(f"causal GRU, batched (max_batch {max_batch}): {frames / seconds:,.0f} frames/s, {seconds:.1f} s; "
              f"{frames / seconds / upstream_fps:.1f}x the {label}", flush=True)
        if args.skip_non_causal:
            continue
        _, seconds = timed(predict_lengths, gru, videos, max_batch=max_batch)
        print(f"non-causal GRU, batched (max_batch {max_batch}): {frames / seconds:,.0f} frames/s, "
              f"{seconds:.1f} s", flush=True)
        _, seconds = timed(predict_lengths, bigru, videos, max_batch=max_batch)
        print(f"non-causal bi-GRU, batched (max_batch {max_batch}): {frames / seconds:,.0f} frames/s, "
              f"{seconds:.1f} s", flush=True)


if __name__ == "__main__":
    main()
