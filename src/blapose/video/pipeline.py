"""``blapose video``: from a video (or another detector's keypoints) to every person's 2D keypoints, 3D
poses, bone lengths and output files.

``process`` reads as its stages, each in its own module with its own options object (``options``:
``Source``, ``PersonChoice``, ``Lifting``, ``Scene``, ``Outputs``): open the clip (``clip``: probe the
video, or read the keypoint file) -> find and follow every person (``finding``: MediaPipe's
``people.detect_people``, or with ``person_box`` the one-person ``detector.detect_landmarks``; a
keypoint file: its ids or ``tracking``) -> per person (``lifting``: lift at 50 fps, predict and check
bone lengths, adjust, place in the scene) -> write ``<name>_person<K>.npz`` (and ``.bvh``, ``.trc``,
``.c3d``) for each person K = 1, 2, ... in order of first appearance, and one ``<name>.mp4`` with
everyone (``outputs``: all to temporary names renamed together at the end, so a failure leaves none)
-> the closing report (``summary``). Results: ``results.PersonResult``, written as ``results.NPZ_KEYS``.

Glossary: T clip frames, T_k frames of person k (their ``frames``), J joints (17), B bones (16).
Poses are meters, camera frame (x right, y down, z forward), root-relative; keypoints are pixels of
the video frame.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..errors import InputError
from .clip import Clip, open_clip
from .finding import find_people
from .follow import Track2D
from .lifting import lift_people, load_models, read_given_poses
from .options import DEFAULT_LIFTER, KEYPOINTS_LIFTER, Lifting, Outputs, PersonChoice, Scene, Source, check_options
from .outputs import check_not_inputs, output_targets, prepare_output_folder, remove_empty, remove_stale, write_outputs
from .results import PersonResult
from .summary import source_3d_words, summary


def process(path: str | os.PathLike | None = None, *, source: Source | None = None,
            people: PersonChoice | None = None, lifting: Lifting | None = None, scene: Scene | None = None,
            outputs: Outputs | None = None, show_progress: bool = True,
            log: Callable[[str], None] | None = print) -> list[PersonResult]:
    """Find every person in the video at ``path`` (or in ``source.keypoints``), lift them to 3D with
    adjusted bone lengths and write the outputs; one ``PersonResult`` per person, numbered by first
    appearance. Each options object defaults to its class's defaults. log: where the summary goes
    (None: nowhere). Bad input raises ``InputError`` before any output file exists.
    """
    from .geometry import focal_length

    source, people, lifting = source or Source(), people or PersonChoice(), lifting or Lifting()
    scene, outputs = scene or Scene(), outputs or Outputs()
    total_start = time.perf_counter()
    seconds: dict[str, float] = {}
    check_options(path, source, people, lifting, outputs)
    clip = open_clip(path, source)
    focal = focal_length(clip.width, clip.height, scene.focal, scene.fov)
    folder = Path(outputs.out_dir) if outputs.out_dir is not None else Path("output") / clip.name
    check_not_inputs(folder, clip.name, (path, source.keypoints, source.poses))
    lifter = lifting.lifter or (KEYPOINTS_LIFTER if clip.keypoints is not None else DEFAULT_LIFTER)
    models = load_models(lifter, lifting, source)
    given = read_given_poses(source.poses)
    created = prepare_output_folder(folder)
    try:
        tracks = find_people(clip, people, seconds, show_progress)
        _check_people(tracks, clip, source, lifting, given)
        stage = time.perf_counter()
        results = lift_people(tracks, clip, lifter, models, lifting, scene, focal, given, show_progress)
        seconds["lift + lengths + adjust"] = time.perf_counter() - stage
        targets = output_targets(folder, clip, len(results), outputs)
        write_outputs(results, clip, targets, seconds, show_progress, label="given" if given is not None else "lifter")
        remove_stale(folder, clip.name, targets)
    except BaseException:
        remove_empty(created)
        raise
    seconds["total"] = time.perf_counter() - total_start
    for result, files in zip(results, targets["people"]):
        result.seconds = seconds
        result.files = {**files, **({"mp4": targets["mp4"]} if "mp4" in targets else {})}
    if log is not None:
        log(summary(results, clip, source_3d_words(lifter, source), people))
    return results


def _check_people(tracks: list[Track2D], clip: Clip, source: Source, lifting: Lifting,
                  given: np.ndarray | None) -> None:
    """Options that hold for one person only, and --poses' frame count."""
    if len(tracks) > 1:
        for flag, used in (("--poses", source.poses is not None), ("--height", lifting.height is not None)):
            if used:
                raise InputError(f"{flag} describes one person, and {len(tracks)} were followed; choose one "
                                 "with --people 1 or --person-box")
    if given is not None and len(given) != clip.count:
        last = clip.frames.first + clip.count - 1
        raise InputError(f"--poses {source.poses} holds {len(given)} poses; the clip has {clip.count} frames "
                         f"({clip.frames.first}-{last}), one pose each")
