"""Training batches of single-frame chunks with receptive-field windows, built by one gather each.

Glossary: S sequences, N frames over all sequences, B batch, R receptive field, J joints (17),
P bones (16).

Like VideoPose3D's ``ChunkedGenerator`` with chunk length 1 (common/generators.py): every frame
of every sequence is one training example whose input is the R-frame window of 2D keypoints
centred on it, edge-padded at the sequence ends; with flip augmentation every frame appears a
second time mirrored (x negated, left and right swapped). Unlike it, the sequences are padded and
concatenated once, the mirrored copies are precomputed, and a batch is a single indexed gather
instead of a Python loop over examples.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..models.inference import flip_bone_lengths, flip_keypoints  # noqa: F401  (their home was here)
from ..skeleton import H36M, Skeleton


@dataclass(frozen=True)
class ChunkBatch:
    """One training batch.

    keypoints_2d: (B, R, J, 2) float32, normalised screen coordinates.
    poses_3d: (B, 1, J, 3) float32, meters, camera frame, root joint at the origin.
    lengths: (B, P) float32 meters (the sequence's fixed bone lengths) or None.
    """

    keypoints_2d: torch.Tensor
    poses_3d: torch.Tensor
    lengths: torch.Tensor | None


class ChunkedBatches:
    """Shuffled single-frame training batches over a set of sequences.

    keypoints_2d: per sequence (T_s, J, 2) normalised screen coordinates.
    poses_3d: per sequence (T_s, J, 3) meters, camera frame, root-relative.
    lengths: optional (S, P) meters, one fixed set of bone lengths per sequence.
    The tables live on ``device`` and batches are gathered there.
    """

    def __init__(self, keypoints_2d: Sequence[np.ndarray], poses_3d: Sequence[np.ndarray],
                 receptive_field: int, batch_size: int, flip: bool = True,
                 lengths: np.ndarray | None = None, skeleton: Skeleton = H36M,
                 device: torch.device | str = "cpu") -> None:
        if len(keypoints_2d) != len(poses_3d) or len(keypoints_2d) == 0:
            raise ValueError(f"need as many 2D as 3D sequences, at least one; got {len(keypoints_2d)} "
                             f"and {len(poses_3d)}")
        if receptive_field < 1 or receptive_field % 2 == 0 or batch_size < 1:
            raise ValueError(f"receptive field must be odd and batch size positive, got "
                             f"{receptive_field} and {batch_size}")
        for index, (points_2d, points_3d) in enumerate(zip(keypoints_2d, poses_3d)):
            if points_2d.shape[1:] != (skeleton.num_joints, 2) or points_3d.shape[1:] != (skeleton.num_joints, 3) \
                    or len(points_2d) != len(points_3d) or len(points_2d) == 0:
                raise ValueError(f"sequence {index}: keypoints {points_2d.shape} and poses {points_3d.shape} "
                                 f"do not pair up as (T, {skeleton.num_joints}, 2) and (T, {skeleton.num_joints}, 3)")
        if lengths is not None and np.shape(lengths) != (len(poses_3d), skeleton.num_bones):
            raise ValueError(f"lengths must have shape ({len(poses_3d)}, {skeleton.num_bones}), "
                             f"got {np.shape(lengths)}")
        self.receptive_field = receptive_field
        self.batch_size = batch_size
        self.flip = flip
        pad = (receptive_field - 1) // 2
        frame_counts = np.array([len(points) for points in poses_3d])

        padded = [np.pad(points, ((pad, pad), (0, 0), (0, 0)), mode="edge") for points in keypoints_2d]
        table_2d = np.concatenate(padded).astype(np.float32)
        table_3d = np.concatenate(poses_3d).astype(np.float32)
        # First frame of each sequence in the 3D table and of its window in the padded 2D table.
        starts_3d = np.concatenate([[0], np.cumsum(frame_counts)[:-1]])
        starts_2d = np.concatenate([[0], np.cumsum(frame_counts + 2 * pad)[:-1]])
        sequence_of_frame = np.repeat(np.arange(len(poses_3d)), frame_counts)
        frame_in_sequence = np.arange(frame_counts.sum()) - np.repeat(starts_3d, frame_counts)

        self.device = torch.device(device)
        self._window_offsets = torch.arange(receptive_field, device=self.device)
        self._sizes = (len(table_2d), len(table_3d), len(poses_3d))
        variants_2d, variants_3d, variants_lengths = [table_2d], [table_3d], []
        if lengths is not None:
            variants_lengths.append(np.asarray(lengths, dtype=np.float32))
        if flip:
            variants_2d.append(flip_keypoints(table_2d, skeleton))
            variants_3d.append(flip_keypoints(table_3d, skeleton))
            if lengths is not None:
                variants_lengths.append(flip_bone_lengths(variants_lengths[0], skeleton))
        # Mirrored copies sit after the originals, so a mirrored example is an offset index.
        def on_device(array: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(array).to(self.device)

        self._table_2d = on_device(np.concatenate(variants_2d))
        self._table_3d = on_device(np.concatenate(variants_3d))
        self._table_lengths = on_device(np.concatenate(variants_lengths)) if variants_lengths else None
        self._example_2d = on_device(starts_2d[sequence_of_frame] + frame_in_sequence)
        self._example_3d = on_device(np.arange(len(table_3d)))
        self._example_sequence = on_device(sequence_of_frame)

    @property
    def num_examples(self) -> int:
        """Training examples per epoch: frames, twice over with flip augmentation."""
        return len(self._example_3d) * (2 if self.flip else 1)

    @property
    def num_batches(self) -> int:
        return -(-self.num_examples // self.batch_size)

    def batch(self, examples: torch.Tensor) -> ChunkBatch:
        """Gather the examples with the given indices (< ``num_examples``) into one batch."""
        frames = len(self._example_3d)
        mirrored = examples >= frames
        frame = examples - mirrored * frames
        size_2d, size_3d, size_sequences = self._sizes
        window_starts = self._example_2d[frame] + mirrored * size_2d
        keypoints = self._table_2d[window_starts[:, None] + self._window_offsets]
        poses = self._table_3d[(self._example_3d[frame] + mirrored * size_3d)[:, None]]
        lengths = None
        if self._table_lengths is not None:
            lengths = self._table_lengths[self._example_sequence[frame] + mirrored * size_sequences]
        return ChunkBatch(keypoints_2d=keypoints, poses_3d=poses, lengths=lengths)

    def epoch(self, rng: np.random.Generator) -> Iterator[ChunkBatch]:
        """All examples once, in an order drawn from ``rng``, ``batch_size`` at a time."""
        order = torch.from_numpy(rng.permutation(self.num_examples)).to(self.device)
        for first in range(0, self.num_examples, self.batch_size):
            yield self.batch(order[first:first + self.batch_size])
