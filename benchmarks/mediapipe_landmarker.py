"""MediaPipe's multi-person ``PoseLandmarker`` (Tasks API) built offline from the mediapipe wheel's own models.

The Tasks ``PoseLandmarker`` reads a model bundle (a zip holding ``pose_detector.tflite`` and
``pose_landmarks_detector.tflite``) that is normally downloaded. The wheel already ships both networks
for its legacy ``solutions.pose``: ``modules/pose_detection/pose_detection.tflite`` (with metadata:
RGB input normalised with mean 127.5, std 127.5, i.e. [-1, 1]) and
``modules/pose_landmark/pose_landmark_full.tflite`` (``model_complexity=1``, no metadata). The Tasks
graph refuses a float input without ``NormalizationOptions``, so the landmark model gets metadata
written with the wheel's own metadata writers: RGB, mean 0, std 255, i.e. [0, 1], which is what the
legacy graph's ``ImageToTensorCalculator`` feeds it (``pose_landmark_by_roi_cpu.pbtxt``:
``output_tensor_float_range {min: 0.0 max: 1.0}``); ``python benchmarks/mediapipe_landmarker.py``
checks it against the legacy API on a frame. The bundle is cached per mediapipe version.

MediaPipe gives the people of a frame no identity: ``run_landmarker`` returns them in its output
order, frame by frame, as a user of the Tasks API receives them.

Glossary: T frames, N people found in a frame (up to ``num_poses``), L landmarks (33, MediaPipe order).
Pixels are those of the full video frame (x right, y down); world landmarks are MediaPipe's metric
estimate in meters, origin at the mid-hips, x right, y down, z away from the camera.

    python benchmarks/mediapipe_landmarker.py [--video FILE] [--frame N] [--box X0 Y0 X1 Y1]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: Input normalisation of the landmark network, (mean, std) on 0..255 RGB: [0, 1] as the legacy graph feeds it.
LANDMARK_NORMALIZATION = (0.0, 255.0)
#: File names the Tasks ``PoseLandmarkerGraph`` looks up in its bundle.
DETECTOR_NAME, LANDMARKS_NAME = "pose_detector.tflite", "pose_landmarks_detector.tflite"
CACHE = Path.home() / ".cache" / "blapose" / "mediapipe"


@dataclass
class FramePeople:
    """The people MediaPipe found in one frame, in its output order: pixels (N, L, 2) float64 pixels of the
    full frame, visibility (N, L) float64 in [0, 1], world (N, L, 3) float64 meters, mid-hip origin."""

    pixels: np.ndarray
    visibility: np.ndarray
    world: np.ndarray

    def __len__(self) -> int:
        return len(self.pixels)


def _wheel_models() -> tuple[Path, Path]:
    """Paths of the wheel's pose detector and full landmark network."""
    import mediapipe

    root = Path(mediapipe.__file__).parent / "modules"
    return root / "pose_detection" / "pose_detection.tflite", root / "pose_landmark" / "pose_landmark_full.tflite"


def build_bundle(path: str | Path | None = None,
                 normalization: tuple[float, float] = LANDMARK_NORMALIZATION) -> Path:
    """Write (once) the ``PoseLandmarker`` bundle made of the wheel's networks and return its path.

    path: where to write it (default: the cache, named by the mediapipe version and the normalisation).
    normalization: (mean, std) of the landmark network's input on 0..255 RGB values.
    """
    import mediapipe
    from mediapipe.tasks.python.metadata.metadata_writers import metadata_writer, writer_utils
    from mediapipe.tasks.python.metadata.metadata_writers.model_asset_bundle_utils import create_model_asset_bundle

    mean, std = normalization
    if path is None:
        path = CACHE / f"pose_landmarker_full_{mediapipe.__version__}_{mean:g}_{std:g}.task"
    path = Path(path)
    if path.is_file():
        return path
    detector, landmarks = (model.read_bytes() for model in _wheel_models())
    writer = metadata_writer.MetadataWriter.create(bytearray(landmarks))
    writer.add_general_info("Pose landmarks (full)", "mediapipe wheel's pose_landmark_full.tflite")
    writer.add_image_input(norm_mean=[mean], norm_std=[std])
    for name in writer_utils.get_output_tensor_names(bytearray(landmarks)):
        writer.add_feature_output(name=name)
    landmarks_with_metadata, _ = writer.populate()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    create_model_asset_bundle({DETECTOR_NAME: detector, LANDMARKS_NAME: bytes(landmarks_with_metadata)}, str(partial))
    partial.replace(path)
    return path


def landmarker(num_poses: int, min_detection_confidence: float = 0.5, running_mode: str = "video",
               bundle: str | Path | None = None):
    """A MediaPipe Tasks ``PoseLandmarker`` finding up to ``num_poses`` people.

    min_detection_confidence: the pose detector's score threshold (MediaPipe's
    ``min_pose_detection_confidence``); presence and tracking thresholds keep MediaPipe's defaults (0.5).
    running_mode: "video" (``detect_for_video``, tracks between frames) or "image" (``detect``).
    bundle: a bundle path (default: ``build_bundle()``).
    """
    from mediapipe.tasks.python import BaseOptions, vision

    modes = {"video": vision.RunningMode.VIDEO, "image": vision.RunningMode.IMAGE}
    options = vision.PoseLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(bundle or build_bundle())),
        running_mode=modes[running_mode], num_poses=num_poses,
        min_pose_detection_confidence=min_detection_confidence)
    return vision.PoseLandmarker.create_from_options(options)


def frame_people(result, width: int, height: int) -> FramePeople:
    """A ``PoseLandmarkerResult`` of a ``width`` x ``height`` frame as arrays (see ``FramePeople``)."""
    count = len(result.pose_landmarks)
    image = np.array([[(p.x, p.y, p.visibility) for p in person] for person in result.pose_landmarks])
    world = np.array([[(p.x, p.y, p.z) for p in person] for person in result.pose_world_landmarks])
    image, world = image.reshape(count, 33, 3), world.reshape(count, 33, 3)
    return FramePeople(image[..., :2] * (width, height), image[..., 2], world)


def run_landmarker(video_path: str | Path, num_poses: int, min_detection_confidence: float = 0.5,
                   bundle: str | Path | None = None) -> list[FramePeople]:
    """MediaPipe's people in every frame of a video, in VIDEO mode: a list of T ``FramePeople``."""
    import cv2
    import mediapipe as mp

    capture = cv2.VideoCapture(str(video_path))
    if not capture.isOpened():
        raise FileNotFoundError(f"cannot read video {video_path}")
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    frames = []
    with landmarker(num_poses, min_detection_confidence, "video", bundle) as model:
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            image = mp.Image(image_format=mp.ImageFormat.SRGB, data=cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
            result = model.detect_for_video(image, int(round(len(frames) * 1000 / fps)))
            frames.append(frame_people(result, frame.shape[1], frame.shape[0]))
    capture.release()
    return frames


def compare_with_legacy(image_bgr: np.ndarray, normalization: tuple[float, float] = LANDMARK_NORMALIZATION
                        ) -> dict[str, float]:
    """Largest differences between the Tasks landmarker (IMAGE mode, one pose) and the legacy
    ``solutions.pose`` (static image mode, ``model_complexity=1``) on one BGR image (H, W, 3) uint8 holding
    one person: pixels (px; also their median over landmarks), visibility, world landmarks (m)."""
    import cv2
    import mediapipe as mp

    rgb = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB)
    height, width = rgb.shape[:2]
    with landmarker(1, 0.5, "image", build_bundle(normalization=normalization)) as model:
        tasks = frame_people(model.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb)), width, height)
    with mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1, enable_segmentation=False) as pose:
        legacy = pose.process(rgb)
    if len(tasks) != 1 or legacy.pose_landmarks is None:
        raise RuntimeError(f"no single person to compare: tasks found {len(tasks)}, "
                           f"legacy found {0 if legacy.pose_landmarks is None else 1}")
    image = np.array([(p.x * width, p.y * height, p.visibility) for p in legacy.pose_landmarks.landmark])
    world = np.array([(p.x, p.y, p.z) for p in legacy.pose_world_landmarks.landmark])
    distance = np.linalg.norm(tasks.pixels[0] - image[:, :2], axis=-1)
    return {"pixels": float(distance.max()), "pixels_median": float(np.median(distance)),
            "visibility": float(np.abs(tasks.visibility[0] - image[:, 2]).max()),
            "world": float(np.abs(tasks.world[0] - world).max())}


def main() -> None:
    parser = argparse.ArgumentParser(description="Check the built landmarker against the legacy solutions.pose")
    parser.add_argument("--video", help="a video (default: Demo_MultiPerson's cam01 from the pose2sim wheel)")
    parser.add_argument("--frame", type=int, default=0)
    parser.add_argument("--box", type=int, nargs=4, help="crop to this box (x0 y0 x1 y1) so one person is in view "
                                                         "(default with the demo: the man's first-frame box)")
    args = parser.parse_args()
    import cv2

    box = args.box
    if args.video is None:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from multiview_reference import FIRST_FRAME_BOXES, find_demo

        demo = find_demo(None, Path.home() / ".cache" / "blapose" / "eval_wild_multiview")
        args.video, box = demo / "videos" / "cam01.mp4", box or FIRST_FRAME_BOXES["cam01"]
    capture = cv2.VideoCapture(str(args.video))
    capture.set(cv2.CAP_PROP_POS_FRAMES, args.frame)
    ok, frame = capture.read()
    if not ok:
        sys.exit(f"cannot read frame {args.frame} of {args.video}")
    if box:
        frame = np.ascontiguousarray(frame[box[1]:box[3], box[0]:box[2]])
    for normalization in (LANDMARK_NORMALIZATION, (127.5, 127.5)):
        difference = compare_with_legacy(frame, normalization)
        print(f"landmark input mean {normalization[0]:g} std {normalization[1]:g}: largest difference from the "
              f"legacy API: pixels {difference['pixels']:.2f} px (median {difference['pixels_median']:.2f}), "
              f"visibility {difference['visibility']:.4f}, "
              f"world {1000 * difference['world']:.2f} mm")


if __name__ == "__main__":
    main()
