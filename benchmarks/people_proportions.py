"""How well body proportions and clothes colour tell people apart, on the tracks of ``detect_people``.

    python benchmarks/people_proportions.py VIDEO [VIDEO ...] [--stop N]

Each video's people are found without stitching (``PeopleOptions(stitch=None)``) and each track is
cut in thirds. Pairs of thirds of one track are the same person; pairs of thirds of two tracks that
share frames are two people (two tracks seen at once cannot be one person). For each pair the
proportion distance (``stitching.proportion_distance``, in spreads) and the colour distance
(``tracking.appearance_distance`` of the mean clothes histograms) are printed, then the ranges of
both kinds, and the stitching costs between the tracks (inf: not allowed).
"""

from __future__ import annotations

import argparse
from itertools import combinations

import numpy as np

from blapose.native_stderr import native_stderr_silenced
from blapose.video.appearance import clothes_histogram
from blapose.video.people import PeopleOptions, detect_people, shrink
from blapose.video.reader import FrameRange, probe_video, read_frames
from blapose.video.stitching import Tracklet, body_proportions, proportion_distance, stitch_costs
from blapose.video.tracking import appearance_distance


def tracklets(frames: list[np.ndarray], width: int, fps: float) -> list[Tracklet]:
    """The tracks of ``detect_people`` (no stitching) with each detection's clothes histogram."""
    import cv2

    with native_stderr_silenced():
        people = detect_people(frames, width, frames[0].shape[0], fps=fps, min_seconds=0.2,
                               options=PeopleOptions(stitch=None))
    result = []
    for person in people:
        seen = person.detected
        colours = []
        for t, pixels in zip(person.frames[seen], person.pixels[seen]):
            small = shrink(frames[t])
            colours.append(clothes_histogram(cv2.cvtColor(small, cv2.COLOR_BGR2HSV), pixels * small.shape[1] / width))
        result.append(Tracklet(person.frames[seen], person.pixels[seen], person.visibility[seen], person.world[seen],
                               person.visibility[seen], np.stack(colours)))
    return result


def thirds(tracklet: Tracklet) -> list[tuple[tuple[np.ndarray, np.ndarray], np.ndarray]]:
    """(proportions, mean colour) of each third of a tracklet."""
    parts = np.array_split(np.arange(len(tracklet.frames)), 3)
    return [(body_proportions(tracklet.world[p], tracklet.visibility[p]), tracklet.appearance[p].mean(axis=0))
            for p in parts]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("videos", nargs="+")
    parser.add_argument("--stop", type=int, default=None, help="frames read from each video (default all)")
    args = parser.parse_args()
    same: list[tuple[float, float]] = []
    other: list[tuple[float, float]] = []
    np.set_printoptions(precision=2, suppress=True)
    for path in args.videos:
        info = probe_video(path)
        frames = list(read_frames(path, FrameRange(0, args.stop)))
        pieces = tracklets(frames, info.width, info.fps)
        print(f"{path}: {len(pieces)} tracks " + ", ".join(
            f"{k}: frames {t.frames[0]}..{t.frames[-1]} ({len(t.frames)} detected)" for k, t in enumerate(pieces)))
        parts = [thirds(t) for t in pieces]
        for k, part in enumerate(parts):
            for (i, a), (j, b) in combinations(enumerate(part), 2):
                pair = (proportion_distance(a[0], b[0]), appearance_distance(a[1], b[1]))
                same.append(pair)
                print(f"  same person, track {k} thirds {i}-{j}: proportions {pair[0]:.2f} colour {pair[1]:.2f}")
        for k, m in combinations(range(len(pieces)), 2):
            if len(np.intersect1d(pieces[k].frames, pieces[m].frames)) == 0:
                continue
            for i, a in enumerate(parts[k]):
                for j, b in enumerate(parts[m]):
                    pair = (proportion_distance(a[0], b[0]), appearance_distance(a[1], b[1]))
                    other.append(pair)
                    print(f"  two people, track {k} third {i} - track {m} third {j}: "
                          f"proportions {pair[0]:.2f} colour {pair[1]:.2f}")
        print("  stitching costs (row: earlier track, column: later track)\n", stitch_costs(pieces, info.fps))
    for name, pairs in (("same person", same), ("two people", other)):
        if pairs:
            values = np.array(pairs)
            print(f"{name}: {len(values)} pairs, proportions {values[:, 0].min():.2f}..{values[:, 0].max():.2f} "
                  f"(median {np.median(values[:, 0]):.2f}), colour {values[:, 1].min():.2f}..{values[:, 1].max():.2f}")
    if same and other:
        a, b = np.array(same)[:, 0], np.array(other)[:, 0]
        print(f"P(two people's proportions farther apart than one person's): {(a[:, None] < b[None]).mean():.2f}")


if __name__ == "__main__":
    main()
