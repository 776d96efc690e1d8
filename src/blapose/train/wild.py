"""In-the-wild augmentation for lift training: random virtual cameras and MediaPipe-like 2D noise.

Glossary: S sequences, N frames over all sequences, B batch, R receptive field, J joints (17).
World frame: Human3.6M's, meters, z up, floor at z = 0. Camera frame: x right, y down, z forward.
2D keypoints are normalised screen coordinates (``blapose.geometry.camera``: the image width spans [-1, 1]).

Human3.6M's four cameras all stand about 1.6 m high, 5 m away, with one focal length, so a lifter
trained on them fails on a phone held low, close, tilted or in portrait. Here every training
chunk (the R-frame window around one frame) is seen instead through its own random virtual
camera (``WildCameraRanges``): it stands at a random azimuth, distance and height around the
person, aims at a random height on the body with some yaw, pitch and roll, and has a random
focal length and orientation (landscape or portrait, no lens distortion). Its 2D keypoints then get
detector-like errors modelled on MediaPipe Pose (``WildNoise``): per-frame jitter, a per-joint
offset held over the chunk (the detector's joint definitions differ from Human3.6M's), occasional
joints thrown off for a few frames, left/right swaps, and gaps filled by linear interpolation (as
``blapose video`` fills frames without a detection). Noise sizes are in meters at the person's
depth and scale with the person's size in the image. The training target is the chunk's centre
pose in that virtual camera's frame, root-relative.

``WildChunkBatches`` has the interface of ``blapose.train.chunks.ChunkedBatches``; lift training
uses it with ``blapose train -t lift --augment wild``, on the motions of ``lift_training_motions``:
the training takes and, with ``--mocap``, copies of real motion-capture clips (``blapose.data.mocap``)
re-posed with the training bodies. ``wild_test_sequences`` and ``wild_clip_sequences`` re-project
whole sequences or clips through fixed random cameras, for evaluation.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..bones import adjust_poses, bone_lengths
from ..data import h36m
from ..geometry.camera import Camera
from ..geometry.rotations import axis_angle_to_matrix, look_at
from ..skeleton import H36M, Skeleton
from .chunks import ChunkBatch

WORLD_UP = (0.0, 0.0, 1.0)


@dataclass(frozen=True)
class WildCameraRanges:
    """Ranges of the virtual cameras (uniform unless said otherwise); meters and degrees.

    fov_long_side_deg: field of view across the image's long side (phone main cameras ~60-75).
    distance: horizontal distance from the person's root. height: above the floor.
    aim_height: height on the body the camera points at (sets the pitch).
    yaw/pitch_jitter_deg: extra turn away from the aim point. roll_deg: normal std, clipped at 3 std.
    portrait: probability of a portrait (9:16) instead of a landscape (16:9) image.
    """

    fov_long_side_deg: tuple[float, float] = (50.0, 80.0)
    distance: tuple[float, float] = (1.8, 7.0)
    height: tuple[float, float] = (0.3, 2.2)
    aim_height: tuple[float, float] = (0.3, 1.5)
    yaw_jitter_deg: float = 12.0
    pitch_jitter_deg: float = 10.0
    roll_deg: float = 5.0
    portrait: float = 0.4
    aspect_long_over_short: float = 16.0 / 9.0


@dataclass(frozen=True)
class WildNoise:
    """MediaPipe-like 2D errors, sizes in meters at the person's depth; probabilities per chunk.

    jitter: std of independent per-frame noise. offset: std of a per-joint offset held over the
    chunk. scale: each chunk's noise sizes are multiplied by a factor uniform in this range.
    outlier: probability per joint of being thrown off by ``outlier_size`` (std) for 1..R frames.
    swap: probability of the left and right sides being exchanged over a stretch of frames.
    gap: probability of a stretch of up to ``max_gap`` frames replaced by linear interpolation.
    """

    jitter: float = 0.012
    offset: float = 0.025
    scale: tuple[float, float] = (0.3, 1.6)
    outlier: float = 0.02
    outlier_size: float = 0.15
    swap: float = 0.04
    gap: float = 0.1
    max_gap: int = 12


#: Cameras around Human3.6M's calibrated ones, for camera-aware length training (``--recipe camera``).
#: The calibration has them 1.46-1.63 m above the floor, 4.1-5.6 m from the capture area's centre,
#: tilted 10-16 degrees down with up to 5.4 degrees of roll and a 47 degree field of view; these
#: ranges are wider on every axis so that no camera can be memorised. Square images, no portrait.
STUDIO_CAMERAS = WildCameraRanges(fov_long_side_deg=(38.0, 58.0), distance=(2.5, 7.5), height=(1.0, 2.2),
                                  aim_height=(0.2, 1.4), yaw_jitter_deg=20.0, pitch_jitter_deg=6.0, roll_deg=3.0,
                                  portrait=0.0, aspect_long_over_short=1.0)

#: Frames per independent noise draw when whole test sequences are re-projected (1 s at 50 fps).
EVALUATION_CHUNK = 50

NO_NOISE = WildNoise(jitter=0.0, offset=0.0, outlier=0.0, swap=0.0, gap=0.0)


# ----------------------------------------------------------------------------------------------
# Cameras
# ----------------------------------------------------------------------------------------------

def _uniform(low: float, high: float, size: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    return low + (high - low) * torch.rand(size, generator=generator, device=device, dtype=torch.float64)


@dataclass(frozen=True)
class VirtualCameras:
    """B pinhole cameras: rotation (B, 3, 3) world-to-camera, position (B, 3) meters, world frame,
    focal (B,) in normalised screen units, portrait (B,) bool (image height / width = 16/9, else 9/16)."""

    rotation: torch.Tensor
    position: torch.Tensor
    focal: torch.Tensor
    portrait: torch.Tensor

    def to_camera(self, points_world: torch.Tensor) -> torch.Tensor:
        """Points (B, ..., 3) meters, world frame -> camera frame of each camera."""
        shape = points_world.shape
        flat = points_world.reshape(shape[0], -1, 3) - self.position[:, None]
        return (flat @ self.rotation.transpose(1, 2)).reshape(shape)

    def project(self, points_camera: torch.Tensor) -> torch.Tensor:
        """Camera-frame points (B, ..., 3) -> normalised screen coordinates (B, ..., 2) (centre at 0).

        Depths below 0.1 m are clamped so a point behind the camera cannot divide by zero.
        """
        depth = points_camera[..., 2:].clamp_min(0.1)
        focal = self.focal.reshape(-1, *([1] * (points_camera.ndim - 1)))
        return focal * points_camera[..., :2] / depth


def random_cameras(roots_world: torch.Tensor, ranges: WildCameraRanges, generator: torch.Generator,
                   extra_distance: torch.Tensor | None = None) -> VirtualCameras:
    """One random camera per person, around roots (B, 3) meters, world frame (see ``WildCameraRanges``).

    extra_distance (B,) meters is added to the drawn distance (e.g. how far a whole sequence's
    root wanders, so that a fixed camera keeps it in front).
    """
    size, device = len(roots_world), roots_world.device
    roots = roots_world.to(torch.float64)
    azimuth = _uniform(0.0, 2 * math.pi, size, generator, device)
    distance = _uniform(*ranges.distance, size, generator, device)
    if extra_distance is not None:
        distance = distance + extra_distance.to(torch.float64)
    position = torch.stack([roots[:, 0] + distance * torch.cos(azimuth), roots[:, 1] + distance * torch.sin(azimuth),
                            _uniform(*ranges.height, size, generator, device)], dim=-1)
    target = torch.stack([roots[:, 0], roots[:, 1], _uniform(*ranges.aim_height, size, generator, device)], dim=-1)
    # World-to-camera rotations of level cameras looking at the target (rows: right, down, forward).
    base = look_at(target - position, torch.tensor(WORLD_UP, dtype=position.dtype, device=position.device))
    degrees = math.pi / 180
    yaw = _uniform(-ranges.yaw_jitter_deg, ranges.yaw_jitter_deg, size, generator, device) * degrees
    pitch = _uniform(-ranges.pitch_jitter_deg, ranges.pitch_jitter_deg, size, generator, device) * degrees
    roll = (torch.randn(size, generator=generator, device=device, dtype=torch.float64)
            .clamp(-3, 3) * ranges.roll_deg * degrees)
    # Jitter in the camera's own axes: turn (about y, sign as first released, so seeds give the same
    # cameras), tilt (about x), then roll (about z).
    jitter = axis_angle_to_matrix(roll, "z") @ axis_angle_to_matrix(pitch, "x") @ axis_angle_to_matrix(-yaw, "y")
    rotation = jitter @ base
    portrait = torch.rand(size, generator=generator, device=device) < ranges.portrait
    fov = _uniform(*ranges.fov_long_side_deg, size, generator, device) * degrees
    long_over_width = torch.where(portrait, ranges.aspect_long_over_short, 1.0).to(torch.float64)
    focal = long_over_width / torch.tan(fov / 2)
    return VirtualCameras(rotation=rotation, position=position, focal=focal, portrait=portrait)


def calibration_vectors(cameras: VirtualCameras) -> torch.Tensor:
    """Calibration vectors (B, 13) of the cameras (``blapose.geometry.floor.calibration_vector``): pinhole
    intrinsics centred at 0, the world's up direction in each camera's frame, the camera's height."""
    zeros = torch.zeros(len(cameras.focal), 7, dtype=cameras.focal.dtype, device=cameras.focal.device)
    up = cameras.rotation[:, :, 2]  # world z axis in camera coordinates: R @ (0, 0, 1)
    return torch.cat([cameras.focal[:, None], cameras.focal[:, None], zeros, up, cameras.position[:, 2:]], dim=-1)


def camera_record(cameras: VirtualCameras, index: int, width_pixels: int = 1920) -> Camera:
    """Camera ``index`` of ``cameras`` as a ``blapose.geometry.camera.Camera`` (pixels, quaternion, no distortion)."""
    from scipy.spatial.transform import Rotation

    portrait = bool(cameras.portrait[index])
    long_side, short_side = width_pixels, round(width_pixels / WildCameraRanges().aspect_long_over_short)
    width, height = (short_side, long_side) if portrait else (long_side, short_side)
    focal = float(cameras.focal[index]) * width / 2
    x, y, z, w = Rotation.from_matrix(cameras.rotation[index].T.cpu().numpy()).as_quat()
    return Camera(id=f"wild-{index}", res_w=width, res_h=height, focal_length=(focal, focal),
                  center=(width / 2, height / 2), radial_distortion=(0.0, 0.0, 0.0),
                  tangential_distortion=(0.0, 0.0), orientation=(w, x, y, z),
                  translation=tuple(float(v) for v in cameras.position[index]))


# ----------------------------------------------------------------------------------------------
# 2D noise
# ----------------------------------------------------------------------------------------------

def _stretches(size: int, frames: int, max_length: int, generator: torch.Generator,
               device: torch.device) -> torch.Tensor:
    """Masks (B, R) bool of one random stretch of 1..max_length frames per row."""
    length = torch.randint(1, max_length + 1, (size, 1), generator=generator, device=device)
    start = (torch.rand(size, 1, generator=generator, device=device) * frames).long()
    index = torch.arange(frames, device=device)[None]
    return (index >= start) & (index < start + length)


def add_wild_noise(keypoints: torch.Tensor, pixels_per_meter: torch.Tensor, noise: WildNoise,
                   generator: torch.Generator, skeleton: Skeleton = H36M) -> torch.Tensor:
    """Keypoints (B, R, J, 2) normalised screen coordinates with MediaPipe-like errors (``WildNoise``).

    pixels_per_meter (B,): normalised screen units per meter at the person's depth (focal / depth).
    """
    size, frames, joints, _ = keypoints.shape
    device, dtype = keypoints.device, keypoints.dtype

    def normal(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=generator, device=device, dtype=dtype)

    def chance(probability: float, *shape: int) -> torch.Tensor:
        return torch.rand(*shape, generator=generator, device=device) < probability

    scale = (pixels_per_meter.to(dtype) * (noise.scale[0] + (noise.scale[1] - noise.scale[0])
                                           * torch.rand(size, generator=generator, device=device, dtype=dtype)))
    scale = scale[:, None, None, None]
    noisy = keypoints + scale * (noise.jitter * normal(size, frames, joints, 2)
                                 + noise.offset * normal(size, 1, joints, 2))
    if noise.outlier > 0:
        thrown = chance(noise.outlier, size, 1, joints) & _stretches(size * joints, frames, frames, generator,
                                                                      device).reshape(size, joints, frames
                                                                                      ).transpose(1, 2)
        noisy = noisy + thrown[..., None] * scale * noise.outlier_size * normal(size, 1, joints, 2)
    if noise.swap > 0:
        swapped = chance(noise.swap, size, 1) & _stretches(size, frames, frames, generator, device)
        mirrored = noisy[:, :, list(skeleton.flip_permutation)]
        noisy = torch.where(swapped[..., None, None], mirrored, noisy)
    if noise.gap > 0 and frames > 2:
        noisy = _interpolate_gaps(noisy, chance(noise.gap, size, 1)
                                  & _stretches(size, frames, noise.max_gap, generator, device))
    return noisy


def _interpolate_gaps(keypoints: torch.Tensor, gap: torch.Tensor) -> torch.Tensor:
    """Replace the frames of keypoints (B, R, J, 2) where gap (B, R) holds by linear interpolation
    between the nearest kept frames (held constant past the ends)."""
    size, frames = gap.shape
    index = torch.arange(frames, device=gap.device).expand(size, frames)
    kept = ~gap
    never = torch.full_like(index, -1)
    previous = torch.where(kept, index, never).cummax(dim=1).values
    following = torch.where(kept, index, torch.full_like(index, frames)).flip(1).cummin(dim=1).values.flip(1)
    all_gone = ~kept.any(dim=1, keepdim=True)
    previous = torch.where(previous < 0, following, previous)
    following = torch.where(following >= frames, previous, following)
    previous = torch.where(all_gone, index, previous)
    following = torch.where(all_gone, index, following)
    span = (following - previous).clamp_min(1).to(keypoints.dtype)
    weight = ((index - previous).to(keypoints.dtype) / span)[..., None, None]
    rows = torch.arange(size, device=gap.device)[:, None]
    before, after = keypoints[rows, previous], keypoints[rows, following]
    interpolated = before + weight * (after - before)
    return torch.where(gap[..., None, None], interpolated, keypoints)


# ----------------------------------------------------------------------------------------------
# Training batches
# ----------------------------------------------------------------------------------------------

def world_motions(sequences: Sequence) -> list[np.ndarray]:
    """World-frame poses (T, J, 3) meters of each distinct (subject, action) among Human3.6M sequences
    (``blapose.data.h36m.Sequence``); the four cameras of a take show one motion, so one is kept."""
    motions, seen = [], set()
    for sequence in sequences:
        if (sequence.subject, sequence.action) in seen:
            continue
        seen.add((sequence.subject, sequence.action))
        motions.append(np.asarray(sequence.camera.camera_to_world(sequence.poses_3d.astype(np.float64))))
    return motions


def real_motion_copies(real_frames: int, other_frames: int, share: float) -> int:
    """How many copies of ``real_frames`` frames make about ``share`` of the examples beside
    ``other_frames`` frames (at least one when ``share`` > 0, none when it is 0)."""
    if share <= 0 or real_frames == 0:
        return 0
    return max(1, round(share / (1 - share) * other_frames / real_frames))


def _reposed(motion: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Motion (T, J, 3) meters, world frame, with every bone given ``lengths`` (B,) and its direction
    kept, root in place, then raised or lowered so that its lowest joint over the clip stays as high."""
    reposed = adjust_poses(motion, lengths)
    reposed[..., 2] += motion[..., 2].min() - reposed[..., 2].min()
    return reposed


def lift_training_motions(sequences: Sequence, real_motions: Sequence[np.ndarray] = (),
                          real_share: float = 0.3) -> list[np.ndarray]:
    """The world motions (T, J, 3) meters that ``--augment wild`` trains on.

    ``world_motions(sequences)`` and, when ``real_motions`` are given (world frame, z up, e.g. the clips
    of ``blapose.data.mocap.load_clips``), ``real_motion_copies`` copies of them all, so that they
    make about ``real_share`` of the examples. Copy k is re-posed (``_reposed``) with the mean bone
    lengths of training motion floor(k * M / copies) of the M, so the copies spread over the
    training bodies and the real motion contributes its bone directions only.
    """
    motions = world_motions(sequences)
    real_frames = sum(len(motion) for motion in real_motions)
    copies = real_motion_copies(real_frames, sum(len(motion) for motion in motions), real_share)
    bodies = [bone_lengths(motion).mean(axis=0) for motion in motions]
    for copy in range(copies):
        lengths = bodies[copy * len(bodies) // copies]
        motions.extend(_reposed(np.asarray(motion, dtype=np.float64), lengths) for motion in real_motions)
    return motions


class WildChunkBatches:
    """Shuffled single-frame training batches, each chunk seen through a random virtual camera.

    motions: per sequence (T_s, J, 3) meters, world frame, z up (``world_motions``). Each frame is
    one example per epoch; flip: mirror half of the examples (x negated, left and right swapped).
    Same interface as ``ChunkedBatches``: ``num_examples``, ``num_batches``, ``batch(examples)``,
    ``epoch(rng)``. Cameras, noise and flips are drawn from ``generator`` (a ``torch.Generator`` on
    ``device``; one seeded with 0 when not given), which keeps its state from batch to batch.
    """

    def __init__(self, motions: Sequence[np.ndarray], receptive_field: int, batch_size: int, flip: bool = True,
                 cameras: WildCameraRanges = WildCameraRanges(), noise: WildNoise = WildNoise(),
                 skeleton: Skeleton = H36M, device: torch.device | str = "cpu",
                 generator: torch.Generator | None = None) -> None:
        if len(motions) == 0:
            raise ValueError("need at least one motion")
        if receptive_field < 1 or receptive_field % 2 == 0 or batch_size < 1:
            raise ValueError(f"receptive field must be odd and batch size positive, got "
                             f"{receptive_field} and {batch_size}")
        for index, motion in enumerate(motions):
            if motion.ndim != 3 or motion.shape[1:] != (skeleton.num_joints, 3) or len(motion) == 0:
                raise ValueError(f"motion {index} has shape {motion.shape}, expected (T, {skeleton.num_joints}, 3)")
        self.receptive_field, self.batch_size, self.flip = receptive_field, batch_size, flip
        self.cameras, self.noise, self.skeleton = cameras, noise, skeleton
        self.device = torch.device(device)
        pad = (receptive_field - 1) // 2
        counts = np.array([len(motion) for motion in motions])
        padded = np.concatenate([np.pad(m, ((pad, pad), (0, 0), (0, 0)), mode="edge") for m in motions])
        starts = np.concatenate([[0], np.cumsum(counts + 2 * pad)[:-1]])
        window_start = np.repeat(starts, counts) + np.arange(counts.sum()) - np.repeat(
            np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
        self._table = torch.from_numpy(padded.astype(np.float32)).to(self.device)
        self._window_start = torch.from_numpy(window_start).to(self.device)
        self._offsets = torch.arange(receptive_field, device=self.device)
        self._flip_order = torch.as_tensor(skeleton.flip_permutation, device=self.device)
        if generator is None:
            generator = torch.Generator(device=self.device)
            generator.manual_seed(0)
        self.generator = generator

    @property
    def num_examples(self) -> int:
        return len(self._window_start)

    @property
    def num_batches(self) -> int:
        return -(-self.num_examples // self.batch_size)

    def batch(self, examples: torch.Tensor) -> ChunkBatch:
        """The examples with indices ``examples`` (< ``num_examples``), each through a new random camera."""
        generator = self.generator
        windows = self._table[self._window_start[examples][:, None] + self._offsets].to(torch.float64)
        centre = (self.receptive_field - 1) // 2
        cameras = random_cameras(windows[:, centre, 0], self.cameras, generator)
        points = cameras.to_camera(windows)
        keypoints = cameras.project(points).float()
        depth = points[:, centre, 0, 2].clamp_min(0.1)
        keypoints = add_wild_noise(keypoints, cameras.focal / depth, self.noise, generator, self.skeleton)
        target = (points[:, centre:centre + 1] - points[:, centre:centre + 1, :1]).float()
        if self.flip:
            mirrored = torch.rand(len(examples), generator=generator, device=self.device) < 0.5
            keypoints = torch.where(mirrored[:, None, None, None], _mirror(keypoints, self._flip_order), keypoints)
            target = torch.where(mirrored[:, None, None, None], _mirror(target, self._flip_order), target)
        return ChunkBatch(keypoints_2d=keypoints, poses_3d=target, lengths=None)

    def epoch(self, rng: np.random.Generator) -> Iterator[ChunkBatch]:
        """All examples once, in an order drawn from ``rng``, ``batch_size`` at a time."""
        order = torch.from_numpy(rng.permutation(self.num_examples)).to(self.device)
        for first in range(0, self.num_examples, self.batch_size):
            yield self.batch(order[first:first + self.batch_size])


def _mirror(points: torch.Tensor, flip_order: torch.Tensor) -> torch.Tensor:
    """Mirror points (..., J, D) horizontally: negate x, swap left and right joints."""
    mirrored = points[..., flip_order, :].clone()
    mirrored[..., 0] = -mirrored[..., 0]
    return mirrored


# ----------------------------------------------------------------------------------------------
# Evaluation sequences
# ----------------------------------------------------------------------------------------------

def wild_test_sequences(sequences: Sequence, rng: np.random.Generator, cameras: WildCameraRanges = WildCameraRanges(),
                        noise: WildNoise = WildNoise()) -> list:
    """Each distinct (subject, action) of ``sequences`` seen through one fixed random camera.

    Returns ``blapose.data.h36m.Sequence`` objects (camera index 0, the virtual camera as a
    ``Camera`` record) with camera-frame poses and noisy normalised 2D keypoints
    (``_through_fixed_cameras``).
    """
    originals = {}
    for sequence in sequences:
        originals.setdefault((sequence.subject, sequence.action), sequence)
    motions = world_motions(list(originals.values()))
    return _through_fixed_cameras([(subject, action, 0, motion) for (subject, action), motion
                                   in zip(originals, motions)], rng, cameras, noise)


def wild_clip_sequences(clips: Mapping[str, np.ndarray], rng: np.random.Generator, views: int = 10,
                        cameras: WildCameraRanges = WildCameraRanges(), noise: WildNoise = WildNoise(),
                        subject: str = "mocap") -> list:
    """World-frame clips {name: (T, J, 3) meters, z up} each seen through ``views`` fixed random cameras.

    For evaluation on motions that are not Human3.6M takes, e.g. the held-out clips of
    ``blapose.data.mocap.load_clips``: ``Sequence`` objects (subject ``subject``, action the clip's
    name, camera index the view) as ``wild_test_sequences`` makes them.
    """
    named = [(subject, name, view, np.asarray(motion, dtype=np.float64)) for name, motion in clips.items()
             for view in range(views)]
    return _through_fixed_cameras(named, rng, cameras, noise)


def _through_fixed_cameras(named: Sequence[tuple[str, str, int, np.ndarray]], rng: np.random.Generator,
                           cameras: WildCameraRanges, noise: WildNoise) -> list:
    """(subject, action, camera index, world motion (T, J, 3) meters) -> ``Sequence`` objects, each
    motion seen through one fixed random camera.

    The camera stands at the drawn distance from the motion's mean root position plus how far the
    root wanders from it, so the person stays in front of it. Noise is drawn independently for
    each ``EVALUATION_CHUNK`` frames, as ``add_wild_noise`` draws it for a training chunk.
    """
    generator = torch.Generator()
    generator.manual_seed(int(rng.integers(2 ** 62)))
    result = []
    for subject, action, index, motion in named:
        world = torch.from_numpy(motion)
        centre = world[:, 0].mean(dim=0)
        wander = (world[:, 0, :2] - centre[:2]).norm(dim=-1).max()
        camera = random_cameras(centre[None], cameras, generator, extra_distance=wander[None])
        points = camera.to_camera(world[None])
        keypoints = camera.project(points)
        depth = points[0, :, 0, 2].mean().clamp_min(0.1)
        keypoints = _noise_in_chunks(keypoints[0], float(camera.focal[0] / depth), noise, generator)
        result.append(h36m.Sequence(subject, action, index, camera_record(camera, 0),
                                    points[0].float().numpy(), keypoints.float().numpy()))
    return result


def _noise_in_chunks(keypoints: torch.Tensor, pixels_per_meter: float, noise: WildNoise,
                     generator: torch.Generator, chunk: int = EVALUATION_CHUNK) -> torch.Tensor:
    """``add_wild_noise`` on a whole sequence (T, J, 2), drawn independently per ``chunk`` frames."""
    frames = len(keypoints)
    padded = -(-frames // chunk) * chunk
    chunks = torch.cat([keypoints, keypoints[-1:].expand(padded - frames, -1, -1)]).reshape(
        padded // chunk, chunk, *keypoints.shape[1:])
    scale = torch.full((len(chunks),), pixels_per_meter, dtype=keypoints.dtype)
    return add_wild_noise(chunks, scale, noise, generator).reshape(padded, *keypoints.shape[1:])[:frames]
