"""Every person in a video, each followed with their own 33 MediaPipe landmarks.

How (the route chosen by measurement, numbers below): MediaPipe's legacy single-person
``solutions.pose`` model bundled in its wheel (``model_complexity=1``, nothing downloaded), one
video-mode instance per followed person, each run on a crop of the full-resolution frame around
that person that stays still while they are well inside it (so MediaPipe's own tracking and
smoothing see a still image), with the other followed people painted grey. New people are
looked for every ``search_seconds``, after a scene cut, in the frame after a followed person was
lost, and whenever nobody is followed: a still-image instance runs on the downscaled frame with the
followed people painted grey, again after painting each new find, up to ``max_search`` finds. The
followers and the search run on a small thread pool (MediaPipe releases the GIL). ``tracking.Tracker``
then decides who is who with global assignments on predicted keypoints and clothes colour
(``appearance``), so a crop that slips onto the other person changes nothing: its detection goes to
the right track, and people who come back after being hidden, out of the frame, or after a scene cut
are recognised by their clothes. Last, ``stitching`` joins finished tracks that never share a frame
when their clothes, body proportions and places agree (the man of Sports2D's demo, back after
landing out of sight, in a backlight where colour alone cannot tell him from the woman).

Crops and the frame for colour histograms are scaled down with ``shrink`` (pyramid halving, then
bilinear) rather than ``INTER_AREA``: at 1080p the area filter cost as much as a third of a MediaPipe
call for the same landmarks. The search, once every few frames, keeps ``INTER_AREA``.

Why not MediaPipe Tasks' ``PoseLandmarker(num_poses=4)`` (the wheel's networks bundled by
benchmarks/mediapipe_landmarker.py): on the same videos it found both people no more often (less on
cam01), was no faster, and would still need this tracker for identities. Sports2D's demo (230 frames, 1768 x 994):
Tasks returned two or more people in 127 frames (three in 11: a duplicate or a false find); this
route followed the man in 165 frames (3..168, then 32 more after he lands out of sight) and the
woman in 155 (45..200), both together in about 122, no identity mixed. Pose2Sim's Demo_MultiPerson
cam01 (100 frames, 1088 x 1920): Tasks found both people in 78 frames, this route in 85 (the man
is lost behind the woman after frame 84). Speed on a shared 2-core machine (load 9 to 12): Tasks
3.9 frames/s on the demo and 5.1 on cam01 (decoding included); this route 6.0 and 4.9, the
one-person ``detector.detect_landmarks`` 12.6 frames/s in the same run on the demo (ratio 0.48).

Limits: the man of Sports2D's demo is joined again only because the woman is still followed when he
comes back (she cannot be him) and his colour near the gap is close enough (0.45, gate 0.5); body
proportions from MediaPipe's world landmarks are a weak cue (``stitching``). In Demo_MultiPerson cam01
the man is lost for good after frame 84: he stands right behind the woman, whose painted box hides
him from the search (painting less found him in single frames, but lost more elsewhere: cam03's man
74 -> 63 frames). MediaPipe's detector misses small or far people (the masked woman in the back of
Demo_MultiPerson is never found).

Glossary: T video frames, T_k frames of person k's span, L landmarks (33, MediaPipe order). Pixels
are those of the full video frame (x right, y down); world landmarks are MediaPipe's metric
estimate in meters, origin at the mid-hips, x right, y down, z away from the camera.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from ..progress import Progress
from .appearance import MEDIAPIPE_PARTS, clothes_histogram, frame_histogram, scene_cut
from .detector import (
    BOX_MARGIN,
    BOX_MIN_VISIBILITY,
    DETECTION_SIZE,
    Landmarks,
    _clipped_box,
    _import_mediapipe,
    box_around,
    landmarks_in_box,
    result_landmarks,
)
from .landmarks import NUM_LANDMARKS
from .stitching import StitchOptions, Tracklet, stitch_tracklets
from .tracking import Tracker, TrackerOptions, body_size, keypoint_distance


@dataclass
class PersonLandmarks:
    """One person followed through a video.

    person: their track id (people are numbered in the order they were first found). frames (T_k,)
    int64: the contiguous video frames from their first to their last detection. detected (T_k,)
    bool: False where they were not found (hidden, or missed) and the arrays hold zeros; fill with
    ``landmarks.fill_gaps``. pixels (T_k, L, 2) float64 pixels; visibility (T_k, L) float64 in
    [0, 1]; world (T_k, L, 3) float64 meters.
    """

    person: int
    frames: np.ndarray
    detected: np.ndarray
    pixels: np.ndarray
    visibility: np.ndarray
    world: np.ndarray


@dataclass(frozen=True)
class PeopleOptions:
    """How people are found: seconds between searches for new people (doubled after each search
    that finds nobody new while everyone seen in the scene is followed, up to ``search_max_seconds``;
    back to ``search_seconds`` when someone is found, lost or not followed, and after a scene cut),
    most new people found per search, frames a person's crop is still searched after they were last found (1 for people
    found fewer than 3 times), threads running MediaPipe, the tracker's options, and how the
    finished tracks are joined into people (``stitching``; None: not joined).

    A search also runs in the frame after a followed person was lost, with that person not painted."""

    search_seconds: float = 0.2
    search_max_seconds: float = 1.0
    max_search: int = 2
    follow_gap: int = 3
    workers: int = 2
    tracker: TrackerOptions = field(default_factory=TrackerOptions)
    stitch: StitchOptions | None = field(default_factory=StitchOptions)


#: A person found by the search counts as new only when farther than this (body sizes) from every
#: followed person's detection in the same frame.
SEARCH_DUPLICATE = 0.3

#: Longest side (pixels) of the every-n-th-pixel sample of a frame whose colour histogram tells scene cuts.
CUT_SAMPLE_SIZE = 320

def shrink(image: np.ndarray, size: int = DETECTION_SIZE) -> np.ndarray:
    """``image`` (H, W, C) scaled down to at most ``size`` pixels on its longest side: halved with
    ``cv2.pyrDown`` (a Gaussian filter, no aliasing) while twice that or more, then bilinear; the
    image itself when small enough. Five to ten times cheaper than ``INTER_AREA`` at 1080p for the
    same landmarks (within 1 pixel median on a 840-pixel person)."""
    import cv2

    while max(image.shape[:2]) >= 2 * size:
        image = cv2.pyrDown(image)
    scale = size / max(image.shape[:2])
    if scale >= 1.0:
        return image
    target = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    return cv2.resize(image, target, interpolation=cv2.INTER_LINEAR)


#: A follower's crop is the box of its person's visible landmarks grown by this factor (plus
#: ``detector.BOX_MARGIN``); it stays put while that box lies inside its middle ``CROP_INNER`` and
#: fills more than ``CROP_FILL`` of it, so MediaPipe's own tracking and smoothing see a still image.
CROP_GROWTH = 1.6
CROP_INNER = 0.8
CROP_FILL = 0.35


def _tight_box(pixels: np.ndarray, visibility: np.ndarray) -> np.ndarray:
    """Box (4,) pixels of the landmarks (L, 2) at least ``BOX_MIN_VISIBILITY`` visible (all when < 4 are)."""
    visible = visibility >= BOX_MIN_VISIBILITY
    points = pixels[visible] if visible.sum() >= 4 else pixels
    return np.concatenate([points.min(axis=0), points.max(axis=0)])


def _crop_holds(crop: np.ndarray, tight: np.ndarray) -> bool:
    """Whether ``tight`` (4,) lies in the middle ``CROP_INNER`` of ``crop`` (4,) and fills enough of it."""
    centre, half = (crop[:2] + crop[2:]) / 2, (crop[2:] - crop[:2]) / 2 * CROP_INNER
    inside = (tight[:2] >= centre - half).all() and (tight[2:] <= centre + half).all()
    return bool(inside and (tight[2:] - tight[:2]).max() >= CROP_FILL * (crop[2:] - crop[:2]).max())


def _grown(tight: np.ndarray, width: int, height: int) -> np.ndarray:
    centre, half = (tight[:2] + tight[2:]) / 2, (tight[2:] - tight[:2]) / 2 * CROP_GROWTH
    return np.concatenate([centre - half, centre + half]) + np.array([-1, -1, 1, 1]) * BOX_MARGIN * max(width, height)


def _overlap(a: np.ndarray, b: np.ndarray) -> bool:
    return bool((np.minimum(a[2:], b[2:]) > np.maximum(a[:2], b[:2])).all())


def _search(pose, small_rgb: np.ndarray, hidden: list[np.ndarray], width: int, height: int,
            limit: int) -> list[Landmarks]:
    """Up to ``limit`` people found in ``small_rgb`` (h, w, 3) (the frame scaled down) outside the
    boxes ``hidden`` (4,) full-frame pixels, painted grey; each find is painted before the next look."""
    small = small_rgb.copy()
    scale = np.array([small.shape[1] / width, small.shape[0] / height] * 2)
    found: list[Landmarks] = []
    for box in hidden:
        x0, y0, x1, y1 = _clipped_box(box * scale, small.shape[1], small.shape[0])
        small[y0:y1, x0:x1] = 128
    for _ in range(limit):
        person = result_landmarks(pose.process(small), (width, height), (0.0, 0.0))
        if person is None:
            break
        found.append(person)
        x0, y0, x1, y1 = _clipped_box(box_around(person[0], person[1], width, height) * scale,
                                      small.shape[1], small.shape[0])
        small[y0:y1, x0:x1] = 128
    return found


def _check_box(person_box: Sequence[float] | None, width: int, height: int) -> np.ndarray | None:
    if person_box is None:
        return None
    box = np.asarray(person_box, dtype=np.float64)
    if box.shape != (4,) or not np.isfinite(box).all() or box[2] <= box[0] or box[3] <= box[1]:
        raise InputError(f"person box {list(person_box)} is not x0, y0, x1, y1 with x0 < x1 and y0 < y1")
    if box[2] <= 0 or box[3] <= 0 or box[0] >= width or box[1] >= height:
        raise InputError(f"person box {list(person_box)} lies outside the {width} x {height} frame")
    return box


def detect_people(frames: Iterable[np.ndarray], width: int, height: int, bar: Progress | None = None,
                  max_people: int | None = None, person_box: Sequence[float] | None = None,
                  min_seconds: float = 1.0, fps: float = 30.0,
                  options: PeopleOptions | None = None) -> list[PersonLandmarks]:
    """Find and follow every person in BGR frames (H, W, 3) uint8 of a ``width`` x ``height`` video.

    ``bar`` is updated once per frame. max_people: at most this many people followed at once (None:
    no limit). person_box: (x0, y0, x1, y1) pixels of the first frame around the one person to
    return (nobody else is followed). min_seconds: people detected in fewer than ``min_seconds *
    fps`` frames are dropped. Returns the people ordered by their first frame (``PersonLandmarks``).
    """
    import cv2

    mp = _import_mediapipe()
    options = options or PeopleOptions()
    if max_people is not None and max_people < 1:
        raise InputError(f"max_people is {max_people}; it must be at least 1")
    box = _check_box(person_box, width, height)
    search_every = max(1, round(options.search_seconds * fps))
    search_most = max(search_every, round(options.search_max_seconds * fps))
    interval = search_every  # frames from one search to the next while nobody is lost
    step = max(1, max(width, height) // CUT_SAMPLE_SIZE)

    def new_follower():
        return mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1, smooth_landmarks=True,
                                      enable_segmentation=False)

    tracker = Tracker(options.tracker)
    followers: dict[int, object] = {}
    spare: list[object] = []
    records: dict[int, dict[int, Landmarks]] = {}
    colours: dict[int, dict[int, np.ndarray]] = {}  # clothes histogram of each record
    lost = False  # a person followed in the previous frame was not found in it
    target: int | None = None  # the person_box's track
    previous_histogram = None
    last_search = -search_every
    searcher = mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1, enable_segmentation=False)
    pool = ThreadPoolExecutor(max(1, options.workers))
    try:
        for t, frame in enumerate(frames):
            # the cut is known before the followers run; the rest of the frame's work overlaps them
            histogram = frame_histogram(cv2.cvtColor(np.ascontiguousarray(frame[::step, ::step]), cv2.COLOR_BGR2HSV))
            cut = scene_cut(previous_histogram, histogram)
            previous_histogram = histogram
            if cut:
                interval = search_every
                for pose, _ in followers.values():
                    pose.reset()
                    spare.append(pose)
                followers = {}

            wanted = [track for track in tracker.followed(t) if (target is None or track.track_id == target)
                      and t - track.last_frame <= (options.follow_gap if track.count >= 3 else 1)][:max_people]
            tight = {track.track_id: _tight_box(track.predict(t), track.scores) for track in wanted}
            jobs = []  # (track id or None, pose, crop, boxes painted grey)
            for track in wanted:
                pose, crop = followers.pop(track.track_id, (None, None))
                if pose is None:
                    pose = spare.pop() if spare else new_follower()
                if crop is None or not _crop_holds(crop, tight[track.track_id]):
                    if crop is not None:
                        pose.reset()
                    crop = _grown(tight[track.track_id], width, height)
                own = tight[track.track_id]
                others = [box for key, box in tight.items() if key != track.track_id
                          and _overlap(box, crop) and not _overlap(box, own)]
                jobs.append((track.track_id, pose, crop, others))
            for pose, _ in followers.values():  # tracks no longer followed
                pose.reset()
                spare.append(pose)
            followers = {}
            seed = None
            if box is not None and target is None:  # look in the given box until the person is found
                seed = spare.pop() if spare else new_follower()
                jobs.append((None, seed, box, []))
            if box is not None:
                room = 1 if target is not None and not wanted else 0
            else:
                room = options.max_search if max_people is None else min(options.max_search,
                                                                         max_people - len(wanted))
            everyone = {track.track_id for track in wanted} >= {track.track_id for track in tracker.tracks
                                                                 if track.scene == tracker.scene}
            if not everyone:
                interval = search_every
            search = room > 0 and (cut or not wanted or lost or t - last_search >= interval)
            futures = [pool.submit(landmarks_in_box, pose, frame, crop, width, height, others, shrink)
                       for _, pose, crop, others in jobs]
            small = shrink(frame)
            small_scale = small.shape[1] / width
            hsv = cv2.cvtColor(small, cv2.COLOR_BGR2HSV)
            if search:
                last_search = t
                # the search's detector finds people more often on an area-filtered frame (cam02 of
                # Pose2Sim's Demo_MultiPerson, frame 0: both people, one with ``shrink``)
                search_size = (round(width * min(1.0, DETECTION_SIZE / max(width, height))),
                               round(height * min(1.0, DETECTION_SIZE / max(width, height))))
                rgb = cv2.cvtColor(cv2.resize(frame, search_size, interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)
                hidden = [_grown(tight[track.track_id], width, height) for track in wanted
                          if track.last_frame == t - 1 or not lost]
                found = _search(searcher, rgb, hidden, width, height, room)
            else:
                found = []
            followed = [future.result() for future in futures]

            detections: list[Landmarks] = []
            sources: list[tuple | None] = []  # (pose, crop) that found each detection
            for (_, pose, crop, _), person in zip(jobs, followed):
                if person is None:
                    pose.reset()
                    spare.append(pose)
                else:
                    detections.append(person)
                    sources.append((pose, crop))
            min_score = options.tracker.min_score
            for person in found:
                size = body_size(person[0], person[1], min_score)
                if all(keypoint_distance(person[0], person[1], other[0], other[1], size, min_score)
                       >= SEARCH_DUPLICATE for other in detections):
                    detections.append(person)
                    sources.append(None)
            if search:
                new = any(source is None for source in sources)
                interval = min(2 * interval, search_most) if everyone and not new and wanted else search_every
            if detections:
                keypoints = np.stack([d[0] for d in detections])
                scores = np.stack([d[1] for d in detections])
                appearance = np.stack([clothes_histogram(hsv, d[0] * small_scale, MEDIAPIPE_PARTS)
                                       for d in detections])
            else:
                keypoints, scores = np.zeros((0, NUM_LANDMARKS, 2)), np.zeros((0, NUM_LANDMARKS))
                appearance = np.zeros((0, len(MEDIAPIPE_PARTS)))
            seen_before = {track.track_id for track in wanted if track.last_frame == t - 1}
            ids = tracker.update(keypoints, scores, appearance, cut=cut, frame=t)
            lost = not seen_before <= set(ids.tolist())
            for person, colour, source, track_id in zip(detections, appearance, sources, ids.tolist()):
                if seed is not None and source is not None and source[0] is seed and track_id >= 0:
                    target = track_id
                if track_id < 0 or (target is not None and track_id != target) or track_id in followers:
                    if source is not None:
                        source[0].reset()
                        spare.append(source[0])
                    continue
                records.setdefault(track_id, {})[t] = person
                colours.setdefault(track_id, {})[t] = colour
                followers[track_id] = source if source is not None else (spare.pop() if spare else new_follower(), None)
            if bar is not None:
                bar.update()
    finally:
        pool.shutdown()
        for pose in [searcher, *(pose for pose, _ in followers.values()), *spare]:
            pose.close()
    if options.stitch is not None:
        records, target = _stitch(records, colours, target, fps, options)
    return _people(records, target if box is not None else None, max(1, int(np.ceil(min_seconds * fps - 1e-9))))


def _stitch(records: dict[int, dict[int, Landmarks]], colours: dict[int, dict[int, np.ndarray]], target: int | None,
            fps: float, options: PeopleOptions) -> tuple[dict[int, dict[int, Landmarks]], int | None]:
    """Tracks joined into people by ``stitching.stitch_tracklets``: each person keeps the smallest id
    of their tracks (so people stay numbered in the order they were first found), and ``target``
    becomes its person's id."""
    ids = sorted(records)
    tracklets = []
    for track_id in ids:
        frames = sorted(records[track_id])
        pixels, seen, world = (np.stack(values) for values in zip(*(records[track_id][t] for t in frames)))
        tracklets.append(Tracklet(np.array(frames), pixels, seen, world, seen,
                                  np.stack([colours[track_id][t] for t in frames])))
    groups = stitch_tracklets(tracklets, fps, options.stitch, options.tracker.min_score)
    first = {}
    for track_id, group in zip(ids, groups):
        first.setdefault(group, track_id)
    joined: dict[int, dict[int, Landmarks]] = {}
    for track_id, group in zip(ids, groups):
        joined.setdefault(first[group], {}).update(records[track_id])
    if target is not None and target in records:
        target = first[groups[ids.index(target)]]
    return joined, target


def _people(records: dict[int, dict[int, Landmarks]], target: int | None, min_frames: int) -> list[PersonLandmarks]:
    """Per-person arrays over each person's span from the detections by track and frame."""
    people = []
    for track_id, by_frame in records.items():
        if (target is not None and track_id != target) or len(by_frame) < min_frames:
            continue
        first, last = min(by_frame), max(by_frame)
        frames = np.arange(first, last + 1)
        detected = np.array([t in by_frame for t in frames])
        pixels = np.zeros((len(frames), NUM_LANDMARKS, 2))
        visibility = np.zeros((len(frames), NUM_LANDMARKS))
        world = np.zeros((len(frames), NUM_LANDMARKS, 3))
        for t, (image, seen, metric) in by_frame.items():
            pixels[t - first], visibility[t - first], world[t - first] = image, seen, metric
        people.append(PersonLandmarks(track_id, frames, detected, pixels, visibility, world))
    people.sort(key=lambda person: (person.frames[0], person.person))
    return people
