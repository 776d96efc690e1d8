"""Tests of the DeepMimic motion-capture clips as Human3.6M joints (blapose.data.mocap); they need the
``mocap`` extra (pybullet's data package) and are skipped without it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from blapose.bones import bone_lengths
from blapose.cli.types import comma_list
from blapose.data import mocap
from blapose.errors import InputError
from blapose.skeleton import H36M

JOINT = {name: index for index, name in enumerate(H36M.joint_names)}
URDF = 0.25  # meters per URDF unit
#: Expected bone lengths from the numbers of humanoid.urdf (joint origins; the neck link's head sphere
#: at (0, 0.7, 0), radius 0.41), in H36M bone order.
_HIP, _THIGH, _SHIN = 0.339548 * URDF, 1.686184 * URDF, 1.639480 * URDF
_SPINE, _THORAX = 0.944604 * URDF, 0.895576 * URDF
_NOSE, _HEAD = np.hypot(0.205, 0.7) * URDF, np.hypot(0.205, 0.41) * URDF
_COLLAR = np.linalg.norm([-0.0962, 0.974 - 0.895576, 0.73244]) * URDF
_UPPER_ARM, _FOREARM = 1.099152 * URDF, 1.035788 * URDF
URDF_LENGTHS = np.array([_HIP, _THIGH, _SHIN, _HIP, _THIGH, _SHIN, _SPINE, _THORAX, _NOSE, _HEAD,
                         _COLLAR, _UPPER_ARM, _FOREARM, _COLLAR, _UPPER_ARM, _FOREARM])


@pytest.fixture(scope="module")
def data_dir() -> Path:
    """The installed pybullet_data folder (the mocap extra)."""
    pybullet_data = pytest.importorskip("pybullet_data")
    return Path(pybullet_data.getDataPath())


@pytest.fixture(scope="module")
def clips(data_dir):
    """Every clip as Human3.6M joints at 50 fps."""
    return mocap.load_clips(data_dir)


def _clip(data_dir: Path, name: str) -> mocap.Clip:
    return mocap.read_clip(data_dir / mocap.MOTIONS_FOLDER / f"humanoid3d_{name}.txt")


def test_every_clip_loads_as_finite_world_joints_at_50_fps(clips, data_dir):
    """All 15 clips load as finite (T, 17, 3) float64 arrays covering each clip's duration at 50 fps."""
    assert tuple(clips) == mocap.CLIP_NAMES
    for name, joints in clips.items():
        duration = _clip(data_dir, name).times[-1]
        assert joints.dtype == np.float64 and joints.shape == (int(duration * 50 + 1e-6) + 1, 17, 3)
        assert np.isfinite(joints).all()
    assert sum(len(joints) for joints in clips.values()) == 1684


def test_bone_lengths_are_constant_and_those_of_the_urdf(clips):
    """Every frame of every clip has the humanoid's bone lengths, as the URDF's numbers give them."""
    lengths = np.concatenate([bone_lengths(joints) for joints in clips.values()])
    np.testing.assert_allclose(lengths, np.broadcast_to(URDF_LENGTHS, lengths.shape), atol=1e-9)


def test_forward_kinematics_matches_pybullet(data_dir):
    """Link frames at the key frames equal pybullet's own forward kinematics of the humanoid (unit quaternions)."""
    pybullet = pytest.importorskip("pybullet")
    humanoid = mocap.read_humanoid(data_dir / mocap.URDF_FILE)
    client = pybullet.connect(pybullet.DIRECT)
    try:
        body = pybullet.loadURDF(str(data_dir / mocap.URDF_FILE), globalScaling=0.25, useFixedBase=True,
                                 flags=pybullet.URDF_MAINTAIN_LINK_ORDER, physicsClientId=client)
        assert [pybullet.getJointInfo(body, j, physicsClientId=client)[12].decode()
                for j in range(pybullet.getNumJoints(body, physicsClientId=client))] == list(humanoid.links)
        driven = [humanoid.index(name) for name, _ in mocap.CLIP_COLUMNS]
        for name in ("walk", "cartwheel", "backflip"):  # backflip's quaternions are up to 12 % off unit length
            clip = _clip(data_dir, name)
            positions, rotations = mocap.link_frames(clip, humanoid, fps=1 / clip.times[1])
            for key in range(0, len(clip.times), 7):
                unit = lambda q: list(q / np.linalg.norm(q))  # noqa: E731
                pybullet.resetBasePositionAndOrientation(body, list(clip.root_position[key]),
                                                         unit(clip.root_rotation[key]), physicsClientId=client)
                values = [unit(clip.joints[n][key]) if w == 4 else list(clip.joints[n][key])
                          for n, w in mocap.CLIP_COLUMNS]
                pybullet.resetJointStatesMultiDof(body, driven, values, physicsClientId=client)
                for link in range(len(humanoid.links)):
                    state = pybullet.getLinkState(body, link, computeForwardKinematics=True, physicsClientId=client)
                    np.testing.assert_allclose(positions[key, link], state[4], atol=1e-5)
                    matrix = np.reshape(pybullet.getMatrixFromQuaternion(state[5], physicsClientId=client), (3, 3))
                    np.testing.assert_allclose(rotations[key, link], matrix, atol=1e-5)
    finally:
        pybullet.disconnect(client)


def test_resampling_at_50_fps_passes_through_the_key_frames(data_dir):
    """The walk's 30 fps key frame 6 (0.2 s) and its 50 fps sample 10 (0.2 s) are the same pose."""
    clip = _clip(data_dir, "walk")
    humanoid = mocap.read_humanoid(data_dir / mocap.URDF_FILE)
    at_keys = mocap.clip_joint_positions(clip, humanoid, fps=1 / clip.times[1])
    at_50 = mocap.clip_joint_positions(clip, humanoid)
    np.testing.assert_allclose(at_50[10], at_keys[6], atol=1e-3)
    assert np.abs(at_50[10] - at_keys[5]).max() > 0.01


def test_walk_keeps_its_feet_on_the_floor(clips):
    """In the walk the lower ankle stays 4-9 cm up (the foot box reaches 5 cm below it) and the feet take turns."""
    walk = clips["walk"]
    ankles = walk[:, [JOINT["RFoot"], JOINT["LFoot"]], 2]
    assert ankles.min(axis=1).min() > 0.04 and ankles.min(axis=1).max() < 0.09
    right_lower = ankles[:, 0] < ankles[:, 1]
    assert 0.3 < right_lower.mean() < 0.7


def test_walk_moves_forward_with_its_right_side_on_the_right(clips):
    """The walk goes over 1 m straight ahead, faces where it goes, and its right joints lie right of the path."""
    walk = clips["walk"]
    travel = walk[-1, 0, :2] - walk[0, 0, :2]
    assert np.linalg.norm(travel) > 1.0
    forward = np.append(travel / np.linalg.norm(travel), 0.0)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    assert np.abs((walk[:, 0] - walk[0, 0]) @ right).max() < 0.1
    for side in ("Hip", "Shoulder", "Wrist", "Knee"):
        across = (walk[:, JOINT[f"R{side}"]] - walk[:, JOINT[f"L{side}"]]) @ right
        assert (across > 0.05).all(), side
    assert ((walk[:, JOINT["Neck/Nose"]] - walk[:, JOINT["Thorax"]]) @ forward > 0.02).all()
    assert (walk[:, JOINT["Head"], 2] > walk[:, JOINT["Thorax"], 2] + 0.2).all()


def test_a_folder_laid_out_like_pybullet_data_loads_the_same(data_dir, clips, tmp_path):
    """``load_clips(DIR)`` with pybullet_data's layout gives the installed package's clips."""
    (tmp_path / "data" / "motions").mkdir(parents=True)
    (tmp_path / "humanoid").mkdir()
    shutil.copy(data_dir / mocap.URDF_FILE, tmp_path / mocap.URDF_FILE)
    shutil.copy(data_dir / mocap.MOTIONS_FOLDER / "humanoid3d_kick.txt", tmp_path / mocap.MOTIONS_FOLDER)
    np.testing.assert_array_equal(mocap.load_clips(tmp_path, ("kick",))["kick"], clips["kick"])
    with pytest.raises(InputError, match="humanoid3d_walk.txt: no such"):
        mocap.load_clips(tmp_path, ("walk",))


def test_bad_inputs_are_refused_with_the_file_named(tmp_path):
    """Missing folders, short rows, non-positive durations and unknown clip names raise InputError."""
    with pytest.raises(InputError, match="pybullet_data's layout"):
        mocap.load_clips(tmp_path)
    short, still = tmp_path / "humanoid3d_short.txt", tmp_path / "humanoid3d_still.txt"
    short.write_text(json.dumps({"Loop": "none", "Frames": [[0.1] * 43, [0.0] * 43]}))
    still.write_text(json.dumps({"Loop": "none", "Frames": [[0.0] * 44, [0.0] * 44]}))
    with pytest.raises(InputError, match="humanoid3d_short.txt.*expected"):
        mocap.read_clip(short)
    with pytest.raises(InputError, match="humanoid3d_still.txt.*durations"):
        mocap.read_clip(still)
    with pytest.raises(InputError, match="fly"):
        mocap.clip_names(comma_list("walk,fly"))
    assert mocap.clip_names(comma_list("none")) == () and mocap.clip_names(comma_list(" walk, kick ")) == ("walk", "kick")


def test_train_lift_with_mocap_trains_on_all_but_the_held_out_clips(h36m_data_dir, data_dir, tmp_path, capsys):
    """`train -t lift --augment wild --mocap pybullet` trains on the 13 clips that --mocap-holdout leaves."""
    from blapose.cli import build_parser, main
    from blapose.train.pose.inputs import command_from_args, load_real_motions

    flags = ["train", "-t", "lift", "--augment", "wild", "--mocap", "pybullet", "-e", "1", "-b", "1024",
             "-arc", "3", "-ch", "16", "--no-eval", "--data-dir", str(h36m_data_dir), "-c", str(tmp_path / "ck")]
    assert main(flags + ["--mocap-holdout", "walk,kick"]) == 0
    assert "13 clips" in capsys.readouterr().out and (tmp_path / "ck" / "final.bin").is_file()
    command = command_from_args(build_parser().parse_args(flags), "train")
    holdout = command.mocap_holdout
    real = load_real_motions(command.mocap, holdout)
    assert holdout == mocap.DEFAULT_HOLDOUT
    assert set(real) == set(mocap.CLIP_NAMES) - set(mocap.DEFAULT_HOLDOUT)
