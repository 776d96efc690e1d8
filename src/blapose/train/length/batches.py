"""Training batches for the bone-length model: ground-truth motion re-posed with sampled bone lengths.

Glossary: S sequences, N frames over all sequences, C chunks, B batch, L chunk frames,
J joints (17), P bones (16), M rows of a bone-length table.

Follows upstream BLAPose ``utils/generators.py`` (``ChunkedGeneratorBoneLengths``): a training
example is an L-frame chunk of one video, chunks start every ``segment_shift`` frames; each gets a
bone-length vector (meters) that replaces the lengths of its ground-truth bones, keeps the
ground-truth bone directions and root trajectory plus a random offset (normal, 0.5 m per axis),
and is projected with that video's camera (distortion included) to normalised 2D; with flip
augmentation every chunk appears a second time mirrored. Unlike upstream, one batch is built by
one gather, one forward-kinematics product and one projection over the whole batch (torch, on the
training device), mirroring is done on the 2D keypoints (equal to projecting the mirrored body
with the mirrored camera), and the target of a mirrored example has its left and right lengths
swapped so that it describes the mirrored body.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ...bones import bones_to_poses, poses_to_bones
from ...errors import InputError
from ...geometry.camera import project_to_2d
from ...geometry.floor import calibration_vector, mirror_calibration, world_up_in_camera  # noqa: F401  (re-exported)
from ...skeleton import H36M, Skeleton
from ..device import to_device
from ..distributed import DistributedContext, shard

LENGTH_AUG_TYPES = ("smpl", "random_unif", "random_norm_train", "random_norm_all")
#: Standard deviation (meters, per axis) of the random root offset added to each example (upstream).
ROOT_OFFSET_STD = 0.5
#: Half-width of the uniform relative change of 'random_unif' lengths (upstream bone_utils.py: +-30 %).
UNIFORM_RELATIVE_RANGE = 0.3


@dataclass(frozen=True)
class ChunkIndex:
    """The training examples: chunk c is frames ``start[c] .. start[c] + L`` of ``sequence[c]``,
    mirrored if ``flip[c]``."""

    sequence: np.ndarray
    start: np.ndarray
    flip: np.ndarray

    def __len__(self) -> int:
        return len(self.sequence)


def chunk_starts(num_frames: int, chunk_len: int, segment_shift: int) -> np.ndarray:
    """First frames of the chunks of one video: 0, shift, 2*shift, ... while start < T - L (upstream)."""
    return np.arange(0, max(num_frames - chunk_len, 0), segment_shift, dtype=np.int64)


def build_chunk_index(frame_counts: Sequence[int], chunk_len: int, segment_shift: int,
                      flip: bool) -> ChunkIndex:
    """All chunks of videos with ``frame_counts`` frames; with ``flip`` each chunk also appears mirrored."""
    if chunk_len < 1 or segment_shift < 1:
        raise InputError(f"chunk length ({chunk_len}) and segment shift ({segment_shift}) must be positive")
    starts = [chunk_starts(count, chunk_len, segment_shift) for count in frame_counts]
    sequence = np.concatenate([np.full(len(s), i, dtype=np.int64) for i, s in enumerate(starts)]
                              + [np.zeros(0, np.int64)])
    start = np.concatenate(starts + [np.zeros(0, np.int64)])
    mirrored = np.zeros(len(start), dtype=bool)
    if flip:
        sequence, start = np.tile(sequence, 2), np.tile(start, 2)
        mirrored = np.concatenate([mirrored, ~mirrored])
    return ChunkIndex(sequence=sequence, start=start, flip=mirrored)


def mirror_keypoints(keypoints: torch.Tensor, skeleton: Skeleton = H36M) -> torch.Tensor:
    """Horizontally mirrored keypoints (..., J, 2): x negated, left and right joints swapped."""
    mirrored = keypoints[..., torch.as_tensor(skeleton.flip_permutation, device=keypoints.device), :]
    return torch.cat([-mirrored[..., :1], mirrored[..., 1:]], dim=-1)


def mirror_lengths(lengths: torch.Tensor, skeleton: Skeleton = H36M) -> torch.Tensor:
    """Bone lengths (..., P) of the mirrored body: left and right bones swapped."""
    order = np.arange(skeleton.num_bones)
    for right, left in skeleton.symmetric_bones:
        order[right], order[left] = left, right
    return lengths[..., torch.as_tensor(order, device=lengths.device)]


def augmented_keypoints(directions: torch.Tensor, lengths: torch.Tensor, root: torch.Tensor,
                        intrinsic: torch.Tensor, flip: torch.Tensor, skeleton: Skeleton = H36M,
                        floor: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
    """Project bodies with new bone lengths: keypoints (B, L, J, 2), normalised screen coordinates.

    directions (B, L, P, 3) unit bone directions, camera frame; lengths (B, P) meters, one body per
    example; root (B, L, 3) meters, camera frame, root joint position per frame (trajectory plus
    any offset); intrinsic (B, 9) normalised camera intrinsics (``Camera.intrinsic``);
    flip (B,) bool, mirror the example's keypoints. ``floor`` = (up (B, 3) world up direction in
    the camera frame, lowest (B, L) height of the original body's lowest joint above its root,
    meters): each frame's body is moved along ``up`` so that its lowest joint is as high as the
    original's, which keeps feet on the floor when the lengths change.
    """
    poses = bones_to_poses(directions, lengths[:, None, :], skeleton=skeleton)
    if floor is not None:
        root = root_on_floor(poses, root, *floor)
    keypoints = project_to_2d(poses + root[:, :, None, :], intrinsic)
    return torch.where(flip[:, None, None, None], mirror_keypoints(keypoints, skeleton), keypoints)


def root_on_floor(poses: torch.Tensor, root: torch.Tensor, up: torch.Tensor, lowest: torch.Tensor
                  ) -> torch.Tensor:
    """Root (B, L, 3) moved along ``up`` so root-relative ``poses`` (B, L, J, 3) have their lowest
    joint ``lowest`` (B, L) meters above the root along ``up`` (B, 3), all in the camera frame."""
    new_lowest = (poses @ up[:, None, :, None])[..., 0].amin(dim=-1)
    return root + (lowest - new_lowest)[..., None] * up[:, None, :]


@dataclass(frozen=True)
class MotionBank:
    """Ground-truth motion of the training videos, concatenated, on the training device.

    directions: (N, P, 3) float32 unit bone directions, camera frame.
    root: (N, 3) float32 root joint positions, meters, camera frame.
    intrinsic: (S, 9) float32 normalised intrinsics of each video's camera.
    up: (S, 3) float32 world up direction in each video's camera frame.
    lowest: (N,) float32 height of the lowest joint above the root along ``up``, meters.
    first_frame: (S,) int64 index in N of each video's first frame; frame_counts (S,) its length.
    subjects: (S,) subject of each video.
    calibration: (S, 13) float32 calibration vector of each video's camera (``blapose.geometry.floor``);
    None for world-frame motions, which are seen through virtual cameras.
    """

    directions: torch.Tensor
    root: torch.Tensor
    intrinsic: torch.Tensor
    up: torch.Tensor
    lowest: torch.Tensor
    first_frame: np.ndarray
    frame_counts: np.ndarray
    subjects: tuple[str, ...]
    calibration: torch.Tensor | None = None

    @classmethod
    def from_world_motions(cls, motions: Sequence[np.ndarray], subjects: Sequence[str],
                           device: torch.device | str = "cpu") -> MotionBank:
        """Bank of world-frame motions (T_s, J, 3) meters, z up, floor at z = 0 (``wild.world_motions``),
        for ``LengthBatchBuilder(wild=...)``: 'camera frame' is the world frame (identity intrinsics,
        up = z), and each chunk is seen through a random virtual camera instead."""
        if not motions:
            raise InputError("no training motions: check the subjects, actions and data files")
        poses = np.concatenate(motions).astype(np.float32)
        directions, _ = poses_to_bones(poses)
        counts = np.array([len(motion) for motion in motions], dtype=np.int64)
        identity = np.array([1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], dtype=np.float32)
        return cls(
            directions=torch.from_numpy(np.ascontiguousarray(directions, dtype=np.float32)).to(device),
            root=torch.from_numpy(np.ascontiguousarray(poses[:, 0])).to(device),
            intrinsic=torch.from_numpy(np.tile(identity, (len(motions), 1))).to(device),
            up=torch.tensor([[0.0, 0.0, 1.0]], device=device).expand(len(motions), 3).contiguous(),
            lowest=torch.from_numpy((poses[..., 2] - poses[:, :1, 2]).min(axis=1)).to(device),
            first_frame=np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64),
            frame_counts=counts,
            subjects=tuple(subjects),
        )

    @classmethod
    def from_sequences(cls, sequences: Sequence, device: torch.device | str = "cpu") -> MotionBank:
        """Bank of ``blapose.data.h36m.Sequence`` objects (absolute camera-frame poses)."""
        if not sequences:
            raise InputError("no training videos: check the subjects, actions and data files")
        poses = np.concatenate([s.poses_3d for s in sequences]).astype(np.float32)
        directions, _ = poses_to_bones(poses)
        counts = np.array([s.num_frames for s in sequences], dtype=np.int64)
        up = np.stack([world_up_in_camera(s.camera) for s in sequences])
        frame_up = np.repeat(up, counts, axis=0)
        lowest = np.einsum("njc,nc->nj", poses - poses[:, :1], frame_up).min(axis=1)
        return cls(
            directions=torch.from_numpy(np.ascontiguousarray(directions, dtype=np.float32)).to(device),
            root=torch.from_numpy(np.ascontiguousarray(poses[:, 0])).to(device),
            intrinsic=torch.from_numpy(np.stack([s.camera.intrinsic() for s in sequences])).to(device),
            up=torch.from_numpy(up).to(device),
            lowest=torch.from_numpy(lowest.astype(np.float32)).to(device),
            first_frame=np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64),
            frame_counts=counts,
            subjects=tuple(s.subject for s in sequences),
            calibration=torch.from_numpy(np.stack([calibration_vector(s.camera) for s in sequences])).to(device),
        )

    def gather(self, sequence: np.ndarray, start: np.ndarray, chunk_len: int
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Directions (B, L, P, 3), root (B, L, 3) and intrinsic (B, 9) of B chunks."""
        directions, root, intrinsic, _ = self.gather_with_floor(sequence, start, chunk_len)
        return directions, root, intrinsic

    def gather_with_floor(self, sequence: np.ndarray, start: np.ndarray, chunk_len: int
                          ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """``gather`` plus the floor of each chunk: (up (B, 3), lowest (B, L)) for ``augmented_keypoints``."""
        frames = self.first_frame[sequence][:, None] + start[:, None] + np.arange(chunk_len)
        if (start + chunk_len > self.frame_counts[sequence]).any():
            raise ValueError("a chunk runs past the end of its video")
        frames = torch.from_numpy(frames).to(self.directions.device)
        which = torch.from_numpy(np.asarray(sequence)).to(self.directions.device)
        return (self.directions[frames], self.root[frames], self.intrinsic[which],
                (self.up[which], self.lowest[frames]))


def check_length_table(table: np.ndarray, source: str) -> np.ndarray:
    """Validate a bone-length table (M, P) in meters and return it as float64."""
    table = np.asarray(table)
    if table.ndim != 2 or table.shape[1] != H36M.num_bones or len(table) == 0 \
            or not np.issubdtype(table.dtype, np.number):
        raise InputError(f"{source}: 'data' has shape {table.shape} ({table.dtype}), expected "
                         f"(M, {H36M.num_bones}) bone lengths in meters")
    if not np.isfinite(table).all() or (table <= 0).any():
        raise InputError(f"{source}: 'data' holds non-finite or non-positive lengths")
    if np.median(table) > 5.0:
        raise InputError(f"{source}: median bone length {np.median(table):.1f} looks like millimetres; "
                         "lengths must be meters")
    return table.astype(np.float64)


def _copy_right_to_left(lengths: np.ndarray, skeleton: Skeleton = H36M) -> np.ndarray:
    """Lengths (..., P) with each left bone given its right partner's length (upstream bone_utils.py)."""
    lengths = lengths.copy()
    for right, left in skeleton.symmetric_bones:
        lengths[..., left] = lengths[..., right]
    return lengths


@dataclass(frozen=True)
class LengthSampler:
    """Draws bone-length vectors for training examples, by augmentation type (upstream ``--length_aug_type``).

    'smpl': a random row of ``table`` (synthetic bodies, e.g. from SMPL).
    'random_unif': the example's subject row scaled per bone by 1 + U(-0.3, 0.3).
    'random_norm_train' / 'random_norm_all': the subject row plus normal noise whose per-bone std is
    that of the training-subject rows / of all rows. Random types copy right lengths to the left.
    For the random types ``table`` holds one row per subject, in the order of ``subject_rows``;
    a (rare) negative normal draw is reflected to its absolute value.
    """

    kind: str
    table: np.ndarray
    subject_rows: dict[str, int]
    noise_std: np.ndarray | None = None

    def sample(self, rng: np.random.Generator, subjects: Sequence[str]) -> np.ndarray:
        """Lengths (B, P) float32 meters for examples of ``subjects`` (B,)."""
        count = len(subjects)
        if self.kind == "smpl":
            return self.table[rng.integers(0, len(self.table), size=count)].astype(np.float32)
        base = self.table[[self.subject_rows[s] for s in subjects]]
        if self.kind == "random_unif":
            scale = 1.0 + rng.uniform(-UNIFORM_RELATIVE_RANGE, UNIFORM_RELATIVE_RANGE, size=base.shape)
            lengths = base * scale
        else:
            lengths = rng.normal(base, self.noise_std)
        return _copy_right_to_left(np.abs(lengths)).astype(np.float32)


def make_length_sampler(kind: str, table: np.ndarray, subjects_train: Sequence[str],
                        subjects_test: Sequence[str], source: str = "bone-length table") -> LengthSampler:
    """Sampler of augmentation type ``kind`` over ``table`` (M, P) meters.

    For the random types the table must hold one row per subject, training subjects then test
    subjects (upstream indexes rows by subject that way).
    """
    table = check_length_table(table, source)
    if kind not in LENGTH_AUG_TYPES:
        raise InputError(f"unknown length augmentation type {kind!r}; choose from {', '.join(LENGTH_AUG_TYPES)}")
    subjects = list(subjects_train) + list(subjects_test)
    if kind == "smpl":
        return LengthSampler(kind=kind, table=table, subject_rows={})
    if len(table) != len(subjects):
        raise InputError(f"{source}: --length_aug_type {kind} needs one row per subject "
                         f"({', '.join(subjects)}: {len(subjects)} rows), got {len(table)} rows")
    rows = {subject: row for row, subject in enumerate(subjects)}
    noise_std = None
    if kind == "random_norm_all":
        noise_std = table.std(axis=0)
    elif kind == "random_norm_train":
        noise_std = table[:len(subjects_train)].std(axis=0)
    return LengthSampler(kind=kind, table=table, subject_rows=rows, noise_std=noise_std)


@dataclass(frozen=True)
class LengthBatch:
    """keypoints (B, L, J, 2) float32 normalised screen coordinates; lengths (B, P) float32 meters;
    calibration (B, 13) float32 of the camera each example is seen through (``blapose.geometry.floor``,
    mirrored with the example), None when the bank has no cameras."""

    keypoints: torch.Tensor
    lengths: torch.Tensor
    calibration: torch.Tensor | None = None


@dataclass(frozen=True)
class WildViews:
    """Random phone-like cameras and MediaPipe-like 2D errors (``blapose.train.wild``) for length training."""

    cameras: Any = None  # wild.WildCameraRanges; None: its defaults
    noise: Any = None  # wild.WildNoise; None: its defaults


class LengthBatchBuilder:
    """Shuffled epochs of augmented batches over a ``MotionBank`` (upstream ChunkedGeneratorBoneLengths).

    Upstream (``floor=False``): the re-posed body keeps the root trajectory and gets a random
    offset N(0, ``root_offset_std``) on every axis. ``floor=True``: every frame's body is re-seated
    so its lowest joint is as high above the floor as the original's, and the offset lies in the
    floor plane (its component along the world up axis is removed). ``keypoint_noise`` > 0 adds
    detector-like 2D errors (normalised units): a constant error per chunk and joint plus an
    independent one per frame, each normal with that standard deviation, drawn after the offsets.
    ``wild`` (a bank ``from_world_motions``, ``floor=True``): each chunk is seen through its own random
    virtual camera aimed at it (``wild.random_cameras``, drawn around the chunk's middle frame) and
    gets MediaPipe-like 2D errors (``wild.add_wild_noise``), drawn from a torch generator seeded from
    ``rng`` for each batch, so a resumed run draws the same cameras.
    """

    def __init__(self, bank: MotionBank, sampler: LengthSampler, batch_size: int, chunk_len: int,
                 segment_shift: int, flip: bool = True, root_offset_std: float = ROOT_OFFSET_STD,
                 floor: bool = False, keypoint_noise: float = 0.0, wild: WildViews | None = None) -> None:
        if batch_size < 1:
            raise InputError(f"batch size must be positive, got {batch_size}")
        if wild is not None and not floor:
            raise InputError("wild views need the floor-preserving augmentation (floor=True)")
        self.wild = wild
        self.bank = bank
        self.sampler = sampler
        self.batch_size = batch_size
        self.chunk_len = chunk_len
        self.root_offset_std = root_offset_std
        self.floor = floor
        self.keypoint_noise = keypoint_noise
        self.index = build_chunk_index(bank.frame_counts, chunk_len, segment_shift, flip)
        if len(self.index) == 0:
            raise InputError(f"no training chunks: every training video has at most {chunk_len} frames "
                             f"(longest: {int(bank.frame_counts.max())}); lower -l/--chunk_len")

    @property
    def num_batches(self) -> int:
        return -(-len(self.index) // self.batch_size)

    def build(self, chunks: np.ndarray, rng: np.random.Generator,
              context: DistributedContext | None = None) -> LengthBatch:
        """The batch of chunk numbers ``chunks`` (B,), with lengths and root offsets drawn from ``rng``.

        With the ``context`` of one of several ranks, the draws are made for all of ``chunks`` (as a
        single process makes them) and only the rank's block of the batch (``distributed.shard``) is built.
        """
        sequence = self.index.sequence[chunks]
        lengths = self.sampler.sample(rng, [self.bank.subjects[s] for s in sequence])
        offsets = rng.normal(0.0, self.root_offset_std, size=(len(chunks), 3)).astype(np.float32)
        view_seed = int(rng.integers(2 ** 62)) if self.wild is not None else 0
        if context is not None and context.is_distributed:
            keep = shard(np.arange(len(chunks)), context)
            chunks, lengths, offsets = chunks[keep], lengths[keep], offsets[keep]
        sequence, start = self.index.sequence[chunks], self.index.start[chunks]
        directions, root, intrinsic, floor = self.bank.gather_with_floor(sequence, start, self.chunk_len)
        device = directions.device
        lengths_t = to_device(lengths, device)
        flip = to_device(self.index.flip[chunks], device)
        offsets_t = to_device(offsets, device)
        if self.floor:
            up = floor[0]
            offsets_t = offsets_t - (offsets_t * up).sum(dim=-1, keepdim=True) * up
        root = root + offsets_t[:, None, :]
        calibration = None if self.bank.calibration is None else self.bank.calibration[
            torch.from_numpy(sequence).to(device)]
        if self.wild is not None:
            keypoints, calibration = self._wild_keypoints(directions, lengths_t, root, floor, flip, view_seed)
        else:
            keypoints = augmented_keypoints(directions, lengths_t, root, intrinsic, flip,
                                            floor=floor if self.floor else None)
        if calibration is not None:
            calibration = torch.where(flip[:, None], mirror_calibration(calibration), calibration)
        if self.keypoint_noise > 0:
            shape = keypoints.shape
            noise = rng.normal(0.0, self.keypoint_noise, size=(2,) + tuple(shape)).astype(np.float32)
            noise[0] = noise[0, :, :1]  # the first draw is held over the chunk: a per-joint bias
            keypoints = keypoints + torch.from_numpy(noise.sum(axis=0)).to(device)
        target = torch.where(flip[:, None], mirror_lengths(lengths_t), lengths_t)
        return LengthBatch(keypoints=keypoints, lengths=target, calibration=calibration)

    def _wild_keypoints(self, directions: torch.Tensor, lengths: torch.Tensor, root: torch.Tensor,
                        floor: tuple[torch.Tensor, torch.Tensor], flip: torch.Tensor, seed: int
                        ) -> tuple[torch.Tensor, torch.Tensor]:
        """Keypoints (B, L, J, 2) of the re-posed world-frame chunks through random virtual cameras, and
        the cameras' calibration vectors (B, 13) (``wild.calibration_vectors``), both not yet mirrored."""
        from ..wild import WildCameraRanges, WildNoise, add_wild_noise, calibration_vectors, random_cameras

        generator = torch.Generator(device=directions.device)
        generator.manual_seed(seed)
        poses = bones_to_poses(directions, lengths[:, None, :])
        points = poses + root_on_floor(poses, root, *floor)[:, :, None, :]
        middle = points.shape[1] // 2
        cameras = random_cameras(points[:, middle, 0], self.wild.cameras or WildCameraRanges(), generator)
        in_camera = cameras.to_camera(points.to(torch.float64))
        keypoints = cameras.project(in_camera).to(directions.dtype)
        depth = in_camera[:, middle, 0, 2].clamp_min(0.1)
        keypoints = add_wild_noise(keypoints, cameras.focal / depth, self.wild.noise or WildNoise(), generator)
        keypoints = torch.where(flip[:, None, None, None], mirror_keypoints(keypoints), keypoints)
        return keypoints, calibration_vectors(cameras).to(keypoints.dtype)

    def epoch(self, rng: np.random.Generator, context: DistributedContext | None = None
              ) -> Iterator[LengthBatch]:
        """One pass over all chunks in a random order drawn from ``rng``, ``batch_size`` (the global
        batch) at a time; with a ``context`` of several ranks, this rank's block of each batch. A
        final batch with fewer chunks than ranks is left out on every rank."""
        order = rng.permutation(len(self.index))
        ranks = 1 if context is None else context.world_size
        for first in range(0, len(order), self.batch_size):
            chosen = order[first:first + self.batch_size]
            if len(chosen) < ranks:
                return
            yield self.build(chosen, rng, context)
