"""Finding and following every person in videos: speed, frames followed, identity switches.

    python benchmarks/track_people.py VIDEO [VIDEO ...] [--stop N] [--labels FILE.json] [--repeat R]

For each video the frames are decoded first (not timed), then ``detect_people`` and the one-person
``detect_landmarks`` run on the same frames, alternately ``--repeat`` times; their frames/s and
the ratio are printed (the machine may be shared: the ratio is the stable number).

Each person found is printed with their span and detected frames. With ``--labels`` (a JSON file
``{"step": S, "people": {"1": "who", ...}, "frames": {"0": {"1": [x0, y0, x1, y1] or null, ...}}}``
of hand-drawn boxes for the video) each labelled person is matched, frame by frame, to the person
whose visible landmarks' box overlaps their box best (IoU >= 0.3): frames followed is how many of
their labelled frames were matched, ids how many people they were matched to (1: never lost their
identity), switches how often the matched person changed between consecutive matched frames, and
a person matched to two labelled people counts as mixed.
"""

from __future__ import annotations

import argparse
import json
import time
from itertools import pairwise

import numpy as np

from blapose.native_stderr import native_stderr_silenced
from blapose.video.detector import detect_landmarks
from blapose.video.people import PersonLandmarks, _tight_box, detect_people
from blapose.video.reader import FrameRange, probe_video, read_frames


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of boxes (4,) x0, y0, x1, y1."""
    inner = np.clip(np.minimum(a[2:], b[2:]) - np.maximum(a[:2], b[:2]), 0, None).prod()
    union = (a[2:] - a[:2]).prod() + (b[2:] - b[:2]).prod() - inner
    return float(inner / union) if union > 0 else 0.0


def score_labels(people: list[PersonLandmarks], labels: dict) -> dict[str, dict]:
    """Per labelled person: labelled frames, frames followed, people matched, switches, mixed."""
    matches: dict[str, list[tuple[int, int]]] = {name: [] for name in labels["people"]}
    labelled = {name: 0 for name in labels["people"]}
    owners: dict[int, set[str]] = {}
    for frame_text, boxes in labels["frames"].items():
        frame = int(frame_text)
        for name, box in boxes.items():
            if box is None:
                continue
            labelled[name] += 1
            best, best_iou = None, 0.3
            for person in people:
                k = frame - person.frames[0]
                if 0 <= k < len(person.frames) and person.detected[k]:
                    overlap = iou(np.asarray(box, float), _tight_box(person.pixels[k], person.visibility[k]))
                    if overlap >= best_iou:
                        best, best_iou = person.person, overlap
            if best is not None:
                matches[name].append((frame, best))
                owners.setdefault(best, set()).add(name)
    result = {}
    for name, found in matches.items():
        ids = [person for _, person in sorted(found)]
        result[name] = {"labelled": labelled[name], "followed": len(ids), "ids": len(set(ids)),
                        "switches": int(sum(a != b for a, b in pairwise(ids))),
                        "mixed": sorted(p for p in set(ids) if len(owners[p]) > 1)}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("videos", nargs="+")
    parser.add_argument("--stop", type=int, default=None, help="frames read from each video (default all)")
    parser.add_argument("--labels", default=None, help="JSON boxes of the first video's people")
    parser.add_argument("--repeat", type=int, default=1, help="timed runs of each detector")
    parser.add_argument("--min-seconds", type=float, default=1.0)
    args = parser.parse_args()
    for number, path in enumerate(args.videos):
        info = probe_video(path)
        frames = list(read_frames(path, FrameRange(0, args.stop)))
        times = {"people": [], "one person": []}
        with native_stderr_silenced():
            for _ in range(args.repeat):
                start = time.perf_counter()
                people = detect_people(frames, info.width, info.height, fps=info.fps, min_seconds=args.min_seconds)
                times["people"].append(time.perf_counter() - start)
                start = time.perf_counter()
                detect_landmarks(frames, info.width, info.height)
                times["one person"].append(time.perf_counter() - start)
        rates = {name: len(frames) / min(values) for name, values in times.items()}
        print(f"{path}: {len(frames)} frames {info.width}x{info.height} @ {info.fps:g} fps; frames/s "
              f"people {rates['people']:.1f}, one person {rates['one person']:.1f} "
              f"(ratio {rates['people'] / rates['one person']:.2f})")
        for person in people:
            print(f"  person {person.person}: frames {person.frames[0]}..{person.frames[-1]}, "
                  f"detected {int(person.detected.sum())}/{len(person.frames)}")
        if args.labels and number == 0:
            with open(args.labels) as file:
                labels = json.load(file)
            for name, row in score_labels(people, labels).items():
                print(f"  labelled {name} ({labels['people'][name]}): {row}")


if __name__ == "__main__":
    main()
